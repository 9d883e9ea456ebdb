#include "mvtag/core/data/list_file.h"

#include <gtest/gtest.h>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;
using mvtag::test::error_of;
using mvtag::test::LogCapture;

namespace {

// A=0, B=1, C=2, 拍人-帅哥=3
const ClassMap& classes() {
  static const ClassMap m = ClassMap::parse("A\nB\nC\n拍人-帅哥\n", "class.txt");
  return m;
}

ListFile labeled(const std::string& text) { return parse_list_file(text, "val.txt", ListMode::Labeled, classes()); }
ListFile infer(const std::string& text) { return parse_list_file(text, "val.txt", ListMode::Infer, classes()); }

std::vector<std::string> names(const ListFile& f) {
  std::vector<std::string> out;
  for (const auto& item : f.items) out.push_back(item.name);
  return out;
}

class ListFiles : public ::testing::Test {
 protected:
  mvtag::test::TempDir dir_{"list_file_test"};
};

}  // namespace

TEST(ListFile, ReadsNameTitleAndSortedUniqueLabels) {
  const ListFile f = labeled("v1.mp4\t一个标题\tC,A,C\nv2.mp4\ttitle two\t拍人-帅哥\n");
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(f.items[0].name, "v1.mp4");
  EXPECT_EQ(f.items[0].title, "一个标题");
  EXPECT_EQ(f.items[0].labels, (std::vector<int>{0, 2}));
  EXPECT_EQ(f.items[0].line, 1u);
  EXPECT_EQ(f.items[1].labels, (std::vector<int>{3}));
  EXPECT_EQ(f.items[1].line, 2u);
  EXPECT_EQ(f.report.rows, 2u);
  EXPECT_EQ(f.report.kept, 2u);
  EXPECT_EQ(f.report.summary(), "val.txt: 2 videos");
}

TEST(ListFile, SkipsBlankLinesAndKeepsPhysicalLineNumbers) {
  const ListFile f = labeled("\nv1\tt\tA\n   \n\t\t\n \t \nv2\tt\tB\n\n");
  EXPECT_EQ(names(f), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(f.items[1].line, 6u);
  EXPECT_EQ(f.report.rows, 2u);
}

TEST(ListFile, NoWhitespaceIsStripped) {
  const ListFile f = labeled(" v1 \t t \tA\n");
  ASSERT_EQ(f.items.size(), 1u);
  EXPECT_EQ(f.items[0].name, " v1 ");
  EXPECT_EQ(f.items[0].title, " t ");
}

TEST(ListFile, KnowsEveryPandasNaToken) {
  for (const char* token : {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                            "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}) {
    EXPECT_TRUE(is_na_token(token)) << token;
  }
  for (const char* text : {"na", " NA", "NA ", "Nan", "NONE", "none", "0", "-", "N/a", "NaN\t"}) {
    EXPECT_FALSE(is_na_token(text)) << text;
  }
}

TEST(ListFile, NaTitleBecomesEmptyAndNaLabelsSkipTheRow) {
  const ListFile f = labeled("v1\tNA\tA\nv2\t\tB\nv3\ttitle\tnull\nv4\ttitle\t\nv5\tnan\n");
  EXPECT_EQ(names(f), (std::vector<std::string>{"v1", "v2"}));
  EXPECT_EQ(f.items[0].title, "");
  EXPECT_EQ(f.items[1].title, "");
  EXPECT_EQ(f.report.without_labels, 3u);
  EXPECT_EQ(f.report.summary(), "val.txt: 2 videos (3 without labels skipped)");
}

TEST(ListFile, RowsWithoutNameAreSkippedInEveryMode) {
  const std::string text = "NA\tt\tA\n\tt\tA\nv1\tt\tA\n";
  EXPECT_EQ(names(labeled(text)), (std::vector<std::string>{"v1"}));
  const ListFile f = infer(text);
  EXPECT_EQ(names(f), (std::vector<std::string>{"v1"}));
  EXPECT_EQ(f.report.without_name, 2u);
  EXPECT_EQ(f.report.summary(), "val.txt: 1 video (2 rows without a name skipped)");
}

TEST(ListFile, MissingFieldsAreNaN) {
  const std::string text = "v1\tt1\tA\nv2\tt2\nv3\n";
  const ListFile l = labeled(text);
  EXPECT_EQ(names(l), (std::vector<std::string>{"v1"}));
  EXPECT_EQ(l.report.without_labels, 2u);
  const ListFile i = infer(text);
  EXPECT_EQ(names(i), (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(i.items[1].title, "t2");
  EXPECT_EQ(i.items[2].title, "");
}

TEST(ListFile, MoreFieldsThanTheFirstRowIsAnError) {
  EXPECT_EQ(error_of([] { labeled("v1\tt\tA\n\nv2\tt\tA\textra\n"); }),
            "val.txt:3: expected at most 3 tab-separated fields (as many as the first row, line 1), found 4");
  // pandas takes the width from the first row, even a short one.
  EXPECT_EQ(error_of([] { infer("\nv1\tt\nv2\tt\tA\n"); }),
            "val.txt:3: expected at most 2 tab-separated fields (as many as the first row, line 2), found 3");
  // A wider first row is fine; the extra column is ignored.
  EXPECT_EQ(names(labeled("v1\tt\tA\tx\nv2\tt\tB\n")), (std::vector<std::string>{"v1", "v2"}));
}

TEST(ListFile, QuotedFieldsFollowCsvRules) {
  const ListFile f = labeled(
      "v1\t\"a \"\"quoted\"\" title\"\tA\n"
      "v2\t\"with\ttab\"\t\"B,C\"\n"
      "v3\tab\"cd\tA\n"
      "v4\t\"ab\"cd\tA\n"
      "v5\t\"NA\"\tA\n"
      "\"v6\"\t\"\"\"\"\tA\n");
  ASSERT_EQ(f.items.size(), 6u);
  EXPECT_EQ(f.items[0].title, "a \"quoted\" title");
  EXPECT_EQ(f.items[1].title, "with\ttab");
  EXPECT_EQ(f.items[1].labels, (std::vector<int>{1, 2}));
  EXPECT_EQ(f.items[2].title, "ab\"cd");  // a quote inside a field is literal
  EXPECT_EQ(f.items[3].title, "abcd");    // text after the closing quote is appended
  EXPECT_EQ(f.items[4].title, "");        // quoting does not protect NA tokens
  EXPECT_EQ(f.items[5].name, "v6");
  EXPECT_EQ(f.items[5].title, "\"");
}

TEST(ListFile, QuotedFieldMaySpanLinesWithAWarning) {
  LogCapture log;
  const ListFile f = labeled("v1\tt\tA\nv2\t\"first\r\nsecond\nthird\"\tB\nv3\tt\tC\n");
  ASSERT_EQ(f.items.size(), 3u);
  EXPECT_EQ(f.items[1].title, "first\r\nsecond\nthird");
  EXPECT_EQ(f.items[1].line, 2u);
  EXPECT_EQ(f.items[2].line, 5u);
  EXPECT_NE(log.text().find("val.txt:2: a quoted field spans lines 2-4"), std::string::npos) << log.text();
}

TEST(ListFile, UnterminatedQuoteIsAnErrorAtItsStart) {
  const std::string msg = error_of([] { labeled("v1\tt\tA\nv2\t\"no end\tB\nv3\tt\tC\n"); });
  EXPECT_EQ(msg.rfind("val.txt:2: a field starts with '\"' (a quoted field) but its closing quote is missing", 0), 0u)
      << msg;
}

TEST(ListFile, RemovesBomAndAcceptsCrlfAndCr) {
  const ListFile f = labeled("\xEF\xBB\xBFv1\tt1\tA\r\nv2\tt2\tB\rv3\tt3\tC");
  EXPECT_EQ(names(f), (std::vector<std::string>{"v1", "v2", "v3"}));
  EXPECT_EQ(f.items[0].labels, (std::vector<int>{0}));
  EXPECT_EQ(f.items[1].title, "t2");
  EXPECT_EQ(f.items[2].labels, (std::vector<int>{2}));
  EXPECT_EQ(f.items[2].line, 3u);
}

TEST(ListFile, InvalidUtf8IsAnErrorNamingTheLine) {
  for (const std::string bad : {"\xFF", "\xC0\xAF" /* overlong '/' */, "\xED\xA0\x80" /* surrogate */,
                                "\xE4\xB8" /* truncated */}) {
    const std::string msg = error_of([&] { labeled("v1\tt\tA\r\nv2\tt" + bad + "\tA\n"); });
    EXPECT_EQ(msg.rfind("val.txt:2: invalid UTF-8 (byte offset 12)", 0), 0u) << msg;
  }
  // The offset counts the file's bytes, BOM included; the first invalid sequence is named.
  const std::string msg = error_of([&] { labeled("\xEF\xBB\xBF" "v1\tt\xE4\xB8\tA\xFF\n"); });
  EXPECT_EQ(msg.rfind("val.txt:1: invalid UTF-8 (byte offset 7)", 0), 0u) << msg;
  EXPECT_EQ(checked_utf8_text("\xEF\xBB\xBF" "ok", "x"), "ok");
  EXPECT_EQ(checked_utf8_text("\xEF\xBF\xBF\xF0\x9F\x98\x80", "x"), "\xEF\xBF\xBF\xF0\x9F\x98\x80");  // U+FFFF is valid
}

TEST(ListFile, FirstAcceptedRowWinsForDuplicates) {
  // Line 1 is skipped for its labels, so it does not claim "v"; line 2 does.
  const ListFile f = labeled("v\tt1\tZZ\nv\tt2\tA\nv\tt3\tB\nw\tt\tA\nw\tt\tA\n");
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(f.items[0].title, "t2");
  EXPECT_EQ(f.items[0].line, 2u);
  EXPECT_EQ(f.report.duplicates, 2u);
  EXPECT_EQ(f.report.only_unknown_labels, 1u);
  EXPECT_EQ(f.report.rows, 5u);
  EXPECT_EQ(f.report.summary(),
            "val.txt: 2 videos (2 duplicates skipped, 1 with only unknown labels skipped; unknown labels: ZZ ×1)");
}

TEST(ListFile, UnknownLabelsAreDroppedAndCountedPerName) {
  const ListFile f = labeled("v1\tt\tA,xx,yy,xx\nv2\tt\tA,,B\nv3\tt\tA, B\nv4\tt\txx\n");
  ASSERT_EQ(f.items.size(), 3u);
  EXPECT_EQ(f.items[0].labels, (std::vector<int>{0}));
  EXPECT_EQ(f.items[1].labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(f.items[2].labels, (std::vector<int>{0}));  // " B" is not "B": no stripping
  const std::map<std::string, std::size_t> want{{"xx", 3}, {"yy", 1}, {"", 1}, {" B", 1}};
  EXPECT_EQ(f.report.unknown_labels, want);
  EXPECT_EQ(f.report.summary(),
            "val.txt: 3 videos (1 with only unknown labels skipped; unknown labels: xx ×3, \"\" ×1,  B ×1, yy ×1)");
}

TEST(ListFile, SummaryListsAtMostTenUnknownNames) {
  std::string text;
  for (int i = 0; i < 12; ++i) text += "v" + std::to_string(i) + "\tt\tA,u" + std::to_string(i) + "\n";
  text += "w\tt\tu5\n";
  const std::string s = labeled(text).report.summary();
  EXPECT_EQ(s,
            "val.txt: 12 videos (1 with only unknown labels skipped; unknown labels: u5 ×2, u0 ×1, u1 ×1, "
            "u10 ×1, u11 ×1, u2 ×1, u3 ×1, u4 ×1, u6 ×1, u7 ×1, and 2 more)");
}

TEST(ListFile, InferModeKeepsEveryNamedRowOnceAndIgnoresLabels) {
  const ListFile f = infer("v1\tt1\tZZ\nv2\tt2\nv3\tt3\tnull\nv1\tagain\tA\nv4\tt4\tA,B\n");
  EXPECT_EQ(names(f), (std::vector<std::string>{"v1", "v2", "v3", "v4"}));
  EXPECT_EQ(f.items[0].title, "t1");
  for (const auto& item : f.items) EXPECT_TRUE(item.labels.empty());
  EXPECT_EQ(f.report.duplicates, 1u);
  EXPECT_TRUE(f.report.unknown_labels.empty());
  EXPECT_EQ(f.report.summary(), "val.txt: 4 videos (1 duplicate skipped)");
}

TEST(ListFile, EmptyFileGivesNoVideos) {
  EXPECT_TRUE(labeled("").items.empty());
  EXPECT_TRUE(labeled("\xEF\xBB\xBF\n\n").items.empty());
  EXPECT_EQ(labeled("").report.summary(), "val.txt: 0 videos");
}

TEST(ListFile, VideoKeyIsTheBasenameUpToItsFirstDot) {
  EXPECT_EQ(video_key("18e9bf08a2fc7eaa4ee9215ab42ea827.mp4"), "18e9bf08a2fc7eaa4ee9215ab42ea827");
  EXPECT_EQ(video_key("http://example.com/v.dir/abc.x.mp4"), "abc");
  EXPECT_EQ(video_key("noext"), "noext");
  EXPECT_EQ(video_key("dir/"), "");
  EXPECT_EQ(video_key(".hidden"), "");
  EXPECT_EQ(video_key("a\\b.mp4"), "a\\b");
  EXPECT_EQ(video_key(""), "");
}

TEST_F(ListFiles, ErrorsNameTheFilePath) {
  const std::string p = dir_.write("train.txt", "v1\tt\tA\nv2\tt\tA\tB\n");
  EXPECT_EQ(error_of([&] { read_list_file(p, ListMode::Labeled, classes()); }),
            p + ":2: expected at most 3 tab-separated fields (as many as the first row, line 1), found 4");
  const std::string missing = error_of([&] { read_list_file(p + ".nope", ListMode::Infer, classes()); });
  EXPECT_EQ(missing.rfind(p + ".nope: cannot open", 0), 0u) << missing;
}

TEST(ListFile, ReadsTheCommittedFixture) {
  const std::string dir = std::string(MVTAG_FIXTURES) + "/lists";
  const ClassMap m = ClassMap::load(dir + "/class.txt", 6);
  const ListFile f = read_list_file(dir + "/val.txt", ListMode::Labeled, m);
  ASSERT_EQ(f.items.size(), 4u);
  EXPECT_EQ(f.items[0].name, "18e9bf08a2fc7eaa4ee9215ab42ea827.mp4");
  EXPECT_EQ(f.items[0].title, "叮叮来自肖宇梁肖宇梁rainco的特别起床铃声");
  EXPECT_EQ(f.items[0].labels, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(video_key(f.items[1].name), "a1");
  EXPECT_EQ(f.items[2].title, "");
  EXPECT_EQ(f.items[2].labels, (std::vector<int>{4}));
  EXPECT_EQ(f.items[3].title, "引号\"标题\"");
  EXPECT_EQ(f.items[3].line, 6u);
  EXPECT_EQ(f.report.summary(),
            dir + "/val.txt: 4 videos (1 duplicate skipped, 1 without labels skipped, 1 with only unknown labels "
                  "skipped; unknown labels: 拍人-xx ×3, 美食-甜品 ×1)");
  EXPECT_EQ(read_list_file(dir + "/val.txt", ListMode::Infer, m).items.size(), 6u);
}
