#include "mvtag/core/data/class_map.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::error_of;
using mvtag::test::LogCapture;
namespace fs = std::filesystem;

namespace {

ClassMap parse(const std::string& text, int num_classes = 0) {
  return ClassMap::parse(text, "class.txt", num_classes);
}

class ClassMapFiles : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return dir_.file(name); }
  mvtag::test::TempDir dir_{"class_map_test"};
};

}  // namespace

TEST(ClassMap, PlainNamesTakeTheirLineNumber) {
  const ClassMap m = parse("拍人-帅哥\n拍人-秀特效\n明星周边-其他明星周边\n");
  EXPECT_EQ(m.num_classes(), 3);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.find("拍人-帅哥"), 0);
  EXPECT_EQ(m.find("拍人-秀特效"), 1);
  EXPECT_EQ(m.find("明星周边-其他明星周边"), 2);
  EXPECT_EQ(m.find("拍人"), std::nullopt);
  EXPECT_EQ(m.names(), (std::vector<std::string>{"拍人-帅哥", "拍人-秀特效", "明星周边-其他明星周边"}));
}

TEST(ClassMap, ExplicitIndexOnlyWithExactlyTwoFields) {
  // Line 0 has two fields -> index 2; line 1 three fields -> its line number 1; line 2 -> 0.
  const ClassMap m = parse("x\t2\ny\tfoo\tbar\nz\t0\n", 4);
  EXPECT_EQ(m.find("x"), 2);
  EXPECT_EQ(m.find("y"), 1);
  EXPECT_EQ(m.find("z"), 0);
  EXPECT_EQ(m.num_classes(), 4);
  EXPECT_EQ(m.name_of(3), "class_3");  // no name maps to 3
  EXPECT_EQ(m.names(), (std::vector<std::string>{"z", "y", "x", "class_3"}));
}

TEST(ClassMap, IndexFieldIsReadLikePythonInt) {
  const ClassMap m = parse("a\t 3\nb\t+1\nc\t0\n");
  EXPECT_EQ(m.find("a"), 3);
  EXPECT_EQ(m.find("b"), 1);
  EXPECT_EQ(m.num_classes(), 4);
}

TEST(ClassMap, BlankLinesAreSkippedButKeepTheNumbering) {
  const ClassMap m = parse("a\n\n   \n\t\nb\n");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.find("a"), 0);
  EXPECT_EQ(m.find("b"), 4);
  EXPECT_EQ(m.find(""), std::nullopt);
  EXPECT_EQ(m.num_classes(), 5);
}

TEST(ClassMap, StripsPythonWhitespaceFromTheLineOnly) {
  // U+3000 (ideographic space) is whitespace to str.strip(); a space before the tab is kept.
  const ClassMap m = parse("  a  \n\tb\n\xE3\x80\x80" "c\xE3\x80\x80\nd \t5\n", 6);
  EXPECT_EQ(m.find("a"), 0);
  EXPECT_EQ(m.find("b"), 1);
  EXPECT_EQ(m.find("c"), 2);
  EXPECT_EQ(m.find("d "), 5);
  EXPECT_EQ(m.find("d"), std::nullopt);
}

TEST(ClassMap, AcceptsBomAndEveryLineEnd) {
  const ClassMap m = parse("\xEF\xBB\xBF" "a\r\nb\rc\nd");
  EXPECT_EQ(m.find("a"), 0);
  EXPECT_EQ(m.find("b"), 1);
  EXPECT_EQ(m.find("c"), 2);
  EXPECT_EQ(m.find("d"), 3);
  EXPECT_EQ(m.num_classes(), 4);
}

TEST(ClassMap, DuplicateNameTakesTheLaterLineAndWarns) {
  LogCapture log;
  const ClassMap m = parse("a\nb\na\n");
  EXPECT_EQ(m.find("a"), 2);
  EXPECT_EQ(m.find("b"), 1);
  EXPECT_EQ(m.duplicate_names(), 1u);
  EXPECT_EQ(m.name_of(0), "class_0");  // the earlier index of "a" no longer has a name
  EXPECT_NE(log.text().find("class.txt:3: class 'a' was already defined on line 1"), std::string::npos)
      << log.text();
}

TEST(ClassMap, SharedIndexShowsTheNameFirstDefinedLastAndWarns) {
  LogCapture log;
  // Python: d = {a: 0, b: 0} ("a" keeps its first position); {v: k} keeps "b" for 0.
  const ClassMap m = parse("a\t0\nb\t0\na\t0\nc\t1\n");
  EXPECT_EQ(m.shared_indices(), 1u);
  EXPECT_EQ(m.name_of(0), "b");
  EXPECT_EQ(m.find("a"), 0);
  EXPECT_NE(log.text().find("index 0 has several names: 'a' (line 3), 'b' (line 2)"), std::string::npos)
      << log.text();
}

TEST(ClassMap, ErrorsNameTheFileAndLine) {
  EXPECT_EQ(error_of([] { parse("a\nb\tx\n"); }), "class.txt:2: class 'b': index 'x' is not an integer");
  EXPECT_EQ(error_of([] { parse("a\nb\t-1\n", 3); }),
            "class.txt:2: class 'b' has index -1, expected 0 <= index < num_classes = 3");
  EXPECT_EQ(error_of([] { parse("a\nb\nc\n", 2); }),
            "class.txt:3: class 'c' has index 2 (its 0-based line number), expected 0 <= index < "
            "num_classes = 2");
  EXPECT_EQ(error_of([] { parse("a\t7\n", 5); }),
            "class.txt:1: class 'a' has index 7, expected 0 <= index < num_classes = 5");
  EXPECT_EQ(error_of([] { parse("a\t99999999999999999999\n"); }).substr(0, 12), "class.txt:1:");
  EXPECT_EQ(error_of([] { parse("\n \n"); }), "class.txt: no class names in the file");
  const std::string bad_utf8 = error_of([] { parse("a\n\xFF" "b\n"); });
  EXPECT_EQ(bad_utf8.rfind("class.txt:2: invalid UTF-8", 0), 0u) << bad_utf8;
  EXPECT_EQ(error_of([] { parse("a\n", -1); }), "class.txt: num_classes must be in 0..1000000 (kMaxClasses), got -1");
  const ClassMap m = parse("a\nb\n");
  EXPECT_EQ(error_of([&] { m.name_of(2); }), "class index 2 is outside [0, 2)");
  EXPECT_EQ(error_of([&] { m.name_of(-1); }), "class index -1 is outside [0, 2)");
}

TEST(ClassMap, TextRoundTripKeepsTheMapping) {
  const ClassMap m = parse("x\t3\n\n拍人-帅哥\nd \t0\nz\n", 6);
  EXPECT_EQ(m.to_text(), "d \t0\n拍人-帅哥\t2\nx\t3\nz\t4\n");
  const ClassMap back = parse(m.to_text(), 6);
  EXPECT_EQ(back.name_to_index(), m.name_to_index());
  EXPECT_EQ(back.names(), m.names());
  EXPECT_EQ(back.num_classes(), 6);
}

TEST_F(ClassMapFiles, SaveAndLoad) {
  const ClassMap m = parse("b\na\n\nc\n");
  m.save(path("model/class.txt"));
  const ClassMap back = ClassMap::load(path("model/class.txt"), 4);
  EXPECT_EQ(back.name_to_index(), m.name_to_index());
  EXPECT_EQ(back.names(), (std::vector<std::string>{"b", "a", "class_2", "c"}));
  EXPECT_FALSE(fs::exists(path("model/class.txt.tmp." + std::to_string(::getpid()))));
}

TEST_F(ClassMapFiles, LoadErrorsNameThePath) {
  write_file_atomic(path("class.txt"), "a\nb\tno\n");
  EXPECT_EQ(error_of([&] { ClassMap::load(path("class.txt")); }),
            path("class.txt") + ":2: class 'b': index 'no' is not an integer");
  const std::string missing = error_of([&] { ClassMap::load(path("missing.txt")); });
  EXPECT_EQ(missing.rfind(path("missing.txt") + ": cannot open", 0), 0u) << missing;
}

TEST(ClassMap, ReadsTheCommittedFixture) {
  const ClassMap m = ClassMap::load(std::string(MVTAG_FIXTURES) + "/lists/class.txt", 6);
  EXPECT_EQ(m.size(), 5u);
  EXPECT_EQ(m.find("拍人-帅哥"), 0);
  EXPECT_EQ(m.find("明星周边-其他明星周边"), 2);
  EXPECT_EQ(m.find("美食-烹饪"), 4);
  EXPECT_EQ(m.name_of(5), "class_5");
}

// Found by fuzz_class_map: a file with two byte order marks has a first name that starts with
// U+FEFF; to_text() lost it on the way back, because load() strips one leading BOM.
TEST(ClassMap, TextRoundTripKeepsAFirstNameThatStartsWithAByteOrderMark) {
  const ClassMap m = parse("\xEF\xBB\xBF\xEF\xBB\xBF" "a\nb\n");
  ASSERT_TRUE(m.find("\xEF\xBB\xBF" "a").has_value());
  EXPECT_EQ(m.to_text(), "\xEF\xBB\xBF\xEF\xBB\xBF" "a\t0\nb\t1\n");
  const ClassMap back = parse(m.to_text());
  EXPECT_EQ(back.name_to_index(), m.name_to_index());
}
