// torch.save's state dicts through the pickle reader (PickleOptions::torch): hand-made pickles
// of tensors that are views of a storage, storage ids, and what stays refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mvtag/core/base/error.h"
#include "mvtag/core/formats/pickle.h"
#include "mvtag/core/formats/zip_reader.h"
#include "test_util.h"

using namespace mvtag;
using namespace std::string_literals;  // binary literals keep their NUL bytes

namespace {

const std::string kInterop = std::string(MVTAG_FIXTURES) + "/interop/";

// Pickle opcodes for hand-made torch pickles.
std::string unicode(const std::string& s) { return "X" + mvtag::test::le32(static_cast<std::uint32_t>(s.size())) + s; }
std::string ints(const std::vector<int>& v) {
  std::string out = "(";
  for (int x : v) out += "K" + std::string(1, static_cast<char>(x));
  return out + "t";
}

// {'w': _rebuild_tensor_v2(FloatStorage '0' of `numel`, offset, shape, strides, False, OrderedDict())}
std::string tensor_pickle(int offset, const std::vector<int>& shape, const std::vector<int>& strides, int numel) {
  const std::string ordered_dict = "ccollections\nOrderedDict\n)R";
  return "\x80\x02" + ordered_dict + "(" + unicode("w") + "ctorch._utils\n_rebuild_tensor_v2\n((" +
         unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") + "K" +
         std::string(1, static_cast<char>(numel)) + "tQK" + std::string(1, static_cast<char>(offset)) + ints(shape) +
         ints(strides) + "\x89" + ordered_dict + "tRu.";
}

// The storage holds 0, 1, 2, ... as float32.
PickleValue parse_tensor(const std::string& pickle, int numel) {
  std::vector<float> values(static_cast<std::size_t>(numel));
  for (int i = 0; i < numel; ++i) values[static_cast<std::size_t>(i)] = static_cast<float>(i);
  const std::string bytes = mvtag::test::raw_bytes(values);
  PickleOptions options;
  options.torch = true;
  options.torch_storage = [&](const TorchStorageRef& ref) -> std::string_view {
    EXPECT_EQ(ref.key, "0");
    EXPECT_EQ(ref.location, "cpu");
    EXPECT_EQ(ref.dtype, DType::F32);
    return bytes;
  };
  return parse_pickle(pickle, "t.pkl", options);
}

std::vector<float> tensor_values(const std::string& pickle, int numel) {
  const PickleValue v = parse_tensor(pickle, numel);
  const PickleValue* w = v.find("w");
  if (w == nullptr || w->type != PickleValue::Type::Array) return {};
  return w->array.to_float();
}

std::string tensor_error(const std::string& pickle, int numel) {
  return mvtag::test::error_of([&] { parse_tensor(pickle, numel); });
}

}  // namespace

TEST(PickleTorch, FeatureFilesKeepTheNumpyOnlyWhitelist) {
  ZipReader zip(kInterop + "ernie_hf_zip/pytorch_model.bin");
  const std::string pkl = zip.read(*zip.find("pytorch_model/data.pkl"));
  SCOPED_TRACE("a torch pickle without PickleOptions::torch");
  mvtag::test::expect_message_contains(mvtag::test::thrown_error([&] { parse_pickle(pkl, "data.pkl"); }),
                                       {"global 'collections.OrderedDict' is not allowed"});
}

TEST(PickleTorch, RebuildsStridedViewsInCOrder) {
  EXPECT_EQ(tensor_values(tensor_pickle(0, {2, 3}, {3, 1}, 6), 6), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(tensor_values(tensor_pickle(0, {3, 2}, {1, 3}, 6), 6), (std::vector<float>{0, 3, 1, 4, 2, 5}));  // .t()
  EXPECT_EQ(tensor_values(tensor_pickle(2, {3}, {1}, 6), 6), (std::vector<float>{2, 3, 4}));                // a slice
  EXPECT_EQ(tensor_values(tensor_pickle(1, {2, 2}, {3, 1}, 6), 6), (std::vector<float>{1, 2, 4, 5}));    // offset + rows
  EXPECT_EQ(tensor_values(tensor_pickle(5, {}, {}, 6), 6), (std::vector<float>{5}));                        // 0-d
  EXPECT_EQ(tensor_values(tensor_pickle(0, {0, 4}, {4, 1}, 0), 0), (std::vector<float>{}));                 // empty
}

TEST(PickleTorch, RefusesViewsOutsideTheirStorage) {
  EXPECT_NE(tensor_error(tensor_pickle(4, {3}, {1}, 6), 6).find("reads beyond the end of the storage"), std::string::npos);
  EXPECT_NE(tensor_error(tensor_pickle(0, {2, 3}, {4, 1}, 6), 6).find("reads beyond the end of the storage"),
            std::string::npos);
  EXPECT_NE(tensor_error(tensor_pickle(0, {8}, {0}, 6), 6).find("more elements than the storage holds"), std::string::npos);
  EXPECT_NE(tensor_error(tensor_pickle(0, {2, 3}, {3}, 6), 6).find("with 1 strides"), std::string::npos);
  const std::string wrong_size = tensor_error(tensor_pickle(0, {2}, {1}, 7), 6);
  EXPECT_NE(wrong_size.find("storage '0' holds 24 bytes, but its id says 7 float32 elements (28 bytes)"), std::string::npos)
      << wrong_size;
}

TEST(PickleTorch, CollectsStorageIdsWithoutTheirBytes) {
  const std::string pickle = tensor_pickle(1, {2, 2}, {3, 1}, 6) + "trailing";
  std::size_t end = 0;
  const std::vector<TorchStorageRef> refs = torch_storage_refs(pickle, "t.pkl", &end);
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].key, "0");
  EXPECT_EQ(refs[0].dtype, DType::F32);
  EXPECT_EQ(refs[0].numel, 6);
  EXPECT_EQ(refs[0].location, "cpu");
  EXPECT_EQ(end, pickle.size() - std::string("trailing").size());
}

TEST(PickleTorch, PersistentIdsOnlyWithTheTorchOption) {
  // BINPERSID of ('storage', 1): refused outright without the option, examined with it.
  const std::string pickle = "\x80\x02" + unicode("storage") + "K\x01\x86Q.";
  const std::string plain = mvtag::test::error_of([&] { parse_pickle(pickle, "t.pkl"); });
  EXPECT_NE(plain.find("byte 17 (BINPERSID): persistent IDs are not supported"), std::string::npos) << plain;
  const std::string torch = tensor_error(pickle, 0);
  EXPECT_NE(torch.find("persistent id with 2 items; expected ('storage', storage type, key, location, numel)"),
            std::string::npos)
      << torch;
  EXPECT_NE(tensor_error("\x80\x02P0\n.", 0).find("persistent IDs are not supported"), std::string::npos);
}

TEST(PickleTorch, AnOrderedDictIsADictAndItsAttributesAreDropped) {
  const std::string ordered_dict = "\x80\x02" "ccollections\nOrderedDict\n)R";
  EXPECT_EQ(parse_tensor(ordered_dict + "(" + unicode("a") + "K\x01u}(" + unicode("_metadata") + "Nub.", 0),
            PickleValue::of_dict({{PickleValue::of_str("a"), PickleValue::of_int(1)}}));
  EXPECT_NE(tensor_error(ordered_dict + "Nb.", 0).find("the state of an OrderedDict must be a dict, got None"),
            std::string::npos);
  EXPECT_NE(tensor_error(ordered_dict.substr(0, ordered_dict.size() - 2) + "(K\x01tR.", 0)
                .find("collections.OrderedDict with arguments is not supported"),
            std::string::npos);
}
