// The registry of globals: what a pickle may name, and everything else refused where it is
// named, before anything is built, without importing or running it.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "pickle_test_util.h"

using namespace mvtag;
using namespace mvtag::test::pickle;
using namespace std::string_literals;  // binary literals keep their NUL bytes
using P = PickleValue;

TEST(PickleReader, RefusesEveryForeignGlobalWithoutRunningIt) {
  std::remove(kPwned);
  const auto m = manifest()["malicious"];
  ASSERT_GE(m.size(), 7u);
  for (const auto& [name, facts] : m.items()) {
    const Error e = load_error(name);
    const std::string msg = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Data) << msg;
    EXPECT_EQ(e.where().file, kDir + name);
    EXPECT_NE(msg.find("'" + facts["global"].get<std::string>() + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte " + std::to_string(facts["offset"].get<int>()) + " "), std::string::npos) << msg;
    EXPECT_NE(msg.find("not allowed"), std::string::npos) << msg;
  }
  EXPECT_FALSE(std::filesystem::exists(kPwned)) << "a malicious fixture ran its command";
}

namespace {

PickleOptions torch_options() {
  PickleOptions options;
  options.torch = true;
  options.torch_storage = [](const TorchStorageRef&) -> std::string_view { return {}; };
  return options;
}

// GLOBAL naming `qualified` ("module.name", split at the last dot), then STOP.
std::string global_alone(const std::string& qualified) {
  const std::size_t dot = qualified.rfind('.');
  return "c" + qualified.substr(0, dot) + "\n" + qualified.substr(dot + 1) + "\n.";
}

std::string short_unicode(const std::string& s) { return "\x8c"s + static_cast<char>(s.size()) + s; }

}  // namespace

TEST(PickleGlobals, ListsWhatNumpyBytesAndTorchNeedAndNothingElse) {
  const std::vector<std::string> plain = {
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
      "numpy.core.numeric._frombuffer",     "numpy._core.numeric._frombuffer",     "numpy.core.multiarray.scalar",
      "numpy._core.multiarray.scalar",      "_codecs.encode",                      "__builtin__.bytes",
      "builtins.bytes"};
  EXPECT_EQ(pickle_allowed_globals(PickleOptions{}), plain);
  std::vector<std::string> torch = plain;
  for (const char* name :
       {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.LongStorage",
        "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage",
        "torch.UntypedStorage", "torch.storage.UntypedStorage"}) {
    torch.push_back(name);
  }
  EXPECT_EQ(pickle_allowed_globals(torch_options()), torch);
}

TEST(PickleGlobals, EveryListedGlobalIsAcceptedWhereItIsNamed) {
  const PickleOptions options = torch_options();
  for (const std::string& name : pickle_allowed_globals(options)) {
    SCOPED_TRACE(name);
    // Accepted: the only complaint is that a bare global is no value.
    const std::string msg = mvtag::test::error_of([&] { parse_pickle(global_alone(name), "t", options); });
    EXPECT_NE(msg.find("a bare '" + name + "' cannot be represented"), std::string::npos) << msg;
  }
}

TEST(PickleGlobals, AnUnlistedGlobalIsRefusedWhereItIsNamedBeforeAnythingIsBuilt) {
  // numpy.dtype('f4') is built first; then STACK_GLOBAL('os', 'system') at byte 35, never called.
  const std::string data = "\x80\x04" + short_unicode("numpy") + short_unicode("dtype") + "\x93" +
                           short_unicode("f4") + "\x85R" + short_unicode("os") + short_unicode("system") + "\x93" +
                           short_unicode("echo") + "\x85R.";
  ASSERT_EQ(data[35], '\x93');
  mvtag::test::expect_message_contains(
      parse_error(data), {"test.pkl: byte 35 (STACK_GLOBAL): global 'os.system' is not allowed",
                          "only numpy's array, dtype and scalar constructors may be named",
                          "nothing was imported or run"});
  // Near misses of listed names are refused too.
  for (const char* name : {"numpy.load", "numpy.core.multiarray.frombuffer", "builtins.eval", "numpy.ndarray.tofile"}) {
    EXPECT_NE(parse_error(global_alone(name)).message().find("global '" + std::string(name) + "' is not allowed"),
              std::string::npos)
        << name;
  }
  // As in Python, a module may carry part of the attribute path.
  EXPECT_NE(parse_error("\x80\x04" + short_unicode("numpy.core") + short_unicode("multiarray._reconstruct") + "\x93.")
                .message()
                .find("a bare 'numpy.core.multiarray._reconstruct'"),
            std::string::npos);
}

TEST(PickleGlobals, TorchGlobalsOnlyWithTheTorchOption) {
  const std::string ordered_dict = "\x80\x02" "ccollections\nOrderedDict\n)R.";
  mvtag::test::expect_message_contains(
      parse_error(ordered_dict), {"byte 2 (GLOBAL): global 'collections.OrderedDict' is not allowed"});
  EXPECT_EQ(parse_pickle(ordered_dict, "t", torch_options()), P::of_dict({}));
  // Storage types of dtypes NDArray lacks are not listed even for torch.
  const std::string msg =
      mvtag::test::error_of([&] { parse_pickle(global_alone("torch.ComplexFloatStorage"), "t", torch_options()); });
  EXPECT_NE(msg.find("global 'torch.ComplexFloatStorage' is not allowed: only what torch.save writes"),
            std::string::npos)
      << msg;
}

TEST(PickleGlobals, ReduceAndBuildDoOnlyWhatTheEntrySays) {
  EXPECT_NE(parse_error("cnumpy\nndarray\n)R.").message().find("calling numpy.ndarray directly is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error("\x80\x02" "cnumpy\ndtype\n)\x81.").message().find("creating objects with NEWOBJ is not supported"),
            std::string::npos);
  EXPECT_NE(parse_error("(cnumpy\nndarray\no.").message().find("OBJ (instantiating 'numpy.ndarray') is not supported"),
            std::string::npos);
  // numpy.dtype takes its state; the scalar it helps make takes none.
  const std::string f4 = "cnumpy\ndtype\n(S'f4'\nI0\nI1\ntR(I3\nS'<'\nNNNI-1\nI-1\nI0\ntb";
  EXPECT_NE(parse_error(f4 + ".").message().find("a bare numpy.dtype cannot be represented"), std::string::npos);
  const std::string scalar = "cnumpy.core.multiarray\nscalar\n(" + f4 + "S'\\x00\\x00\\xc0?'\ntR";
  EXPECT_EQ(parse_pickle(scalar + ".", "t"), P::of_float(1.5));
  EXPECT_NE(parse_error(scalar + ")b.").message().find("BUILD on float is not supported"), std::string::npos);
  // An array is built once.
  const std::string array =
      "\x80\x02" "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
      "(K\x01K\x02\x85" "cnumpy\ndtype\nU\x02" "f8\x89\x88\x87R(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
      "\x89](G?\xf8\x00\x00\x00\x00\x00\x00K\x02" "et" "b"s;
  EXPECT_EQ(parse_pickle(array + ".", "t").type, P::Type::Array);
  EXPECT_NE(parse_error(array + ")b.").message().find("BUILD on numpy.ndarray is not supported"), std::string::npos);
}
