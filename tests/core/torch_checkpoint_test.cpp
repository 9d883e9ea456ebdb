// torch.save files read without LibTorch: the fixtures were written by torch 1.13 itself
// (tools/make_interop_fixtures.py), with tensors that are views of larger storages.
#include "mvtag/core/formats/torch_checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>

#include "mvtag/core/base/error.h"
#include "mvtag/core/base/io.h"
#include "test_util.h"

using namespace mvtag;

namespace {

const std::string kDir = std::string(MVTAG_FIXTURES) + "/interop/";

const NDArray* find(const std::vector<NamedArray>& tensors, const std::string& name) {
  for (const NamedArray& t : tensors) {
    if (t.name == name) return &t.array;
  }
  return nullptr;
}

std::string error_of(const std::string& path) {
  SCOPED_TRACE(path);
  return mvtag::test::error_of([&] { read_torch_state_dict(path); });
}

// Every tensor of the reference (HF names, no prefix) under `prefix`, LayerNorm renamed as asked.
void expect_reference(const TorchStateDict& sd, const std::string& prefix, bool gamma_beta) {
  const SafetensorsFile reference = read_safetensors(kDir + "ernie_hf_safetensors/model.safetensors");
  ASSERT_EQ(reference.tensors.size(), 37u);
  for (const NamedArray& r : reference.tensors) {
    std::string name = prefix + r.name;
    if (gamma_beta && name.find("LayerNorm.") != std::string::npos) {
      if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0) name.replace(name.size() - 7, 7, ".gamma");
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0) name.replace(name.size() - 5, 5, ".beta");
    }
    const NDArray* t = find(sd.tensors, name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->dtype, DType::F32) << name;
    EXPECT_EQ(t->shape, r.array.shape) << name;
    EXPECT_EQ(t->data, r.array.data) << name;  // bit-identical, views copied in C order
  }
  // The extras torch.save wrote too: an int64 buffer and unused heads.
  const NDArray* ids = find(sd.tensors, prefix + "embeddings.position_ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, DType::I64);
  EXPECT_EQ(ids->shape, (std::vector<std::int64_t>{1, 12}));
  std::int64_t last = 0;
  std::memcpy(&last, ids->data.data() + 11 * 8, 8);
  EXPECT_EQ(last, 11);
  EXPECT_NE(find(sd.tensors, "cls.predictions.bias"), nullptr);
  EXPECT_EQ(sd.tensors.size(), reference.tensors.size() + 4);
}


}  // namespace

TEST(TorchCheckpoint, ReadsTheZipFormatWithViewsAndOffsets) {
  const TorchStateDict sd = read_torch_state_dict(kDir + "ernie_hf_zip/pytorch_model.bin");
  EXPECT_EQ(sd.format, TorchFileFormat::Zip);
  EXPECT_EQ(sd.nested_key, "");
  expect_reference(sd, "ernie.", false);
  EXPECT_EQ(sd.tensors.front().name, "ernie.embeddings.word_embeddings.weight");  // the dict's order
}

TEST(TorchCheckpoint, ReadsTheLegacyFormat) {
  const TorchStateDict sd = read_torch_state_dict(kDir + "ernie_hf_legacy/pytorch_model.bin");
  EXPECT_EQ(sd.format, TorchFileFormat::Legacy);
  expect_reference(sd, "bert.", true);
}

TEST(TorchCheckpoint, FindsAStateDictNestedInATrainingCheckpoint) {
  const TorchStateDict sd = read_torch_state_dict(kDir + "torch_nested.bin");
  EXPECT_EQ(sd.nested_key, "state_dict");
  ASSERT_EQ(sd.tensors.size(), 1u);
  EXPECT_EQ(sd.tensors[0].array.dtype, DType::F64);
  EXPECT_EQ(sd.tensors[0].array.shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(sd.tensors[0].array.to_float(), (std::vector<float>{0, 3, 1, 4, 2, 5}));  // arange(6).reshape(2,3).t()
}

TEST(TorchCheckpoint, RefusesWhatIsNotAPlainStateDict) {
  EXPECT_NE(error_of(kDir + "torch_deflated.bin").find("is compressed (deflate)"), std::string::npos);
  const std::string evil = error_of(kDir + "torch_evil.bin");
  EXPECT_NE(evil.find("global 'posix.system' is not allowed"), std::string::npos) << evil;
  EXPECT_NE(evil.find("torch_evil.bin [archive/data.pkl]: byte "), std::string::npos) << evil;
  EXPECT_NE(error_of(kDir + "torch_list.bin").find("the saved object is a list"), std::string::npos);
  EXPECT_NE(error_of(kDir + "ernie_hf_zip/config.json").find("not a file written by torch.save"), std::string::npos);
}

TEST(TorchCheckpoint, ReportsDamagedLegacyFiles) {
  const std::string good = read_file(kDir + "ernie_hf_legacy/pytorch_model.bin");
  const mvtag::test::TempDir dir("torch_test");
  const std::string path = dir.file("model.bin");
  write_file_atomic(path, good.substr(0, good.size() - 10));
  EXPECT_NE(error_of(path).find("truncated"), std::string::npos) << error_of(path);
  write_file_atomic(path, good + "xyz");
  EXPECT_NE(error_of(path).find("3 unexpected bytes after the last storage"), std::string::npos) << error_of(path);
  write_file_atomic(path, good.substr(0, 200));
  EXPECT_NE(error_of(path).find("model.bin"), std::string::npos);
}

// Found by fuzz_pickle (the input it wrote, kept as a fixture): a legacy file whose state dict
// uses a storage that the storage list after it does not hold. The lookup threw std::out_of_range
// ("map::at") instead of an error naming the file.
TEST(TorchCheckpoint, LegacyTensorWithoutItsStorageIsAnErrorNamingTheFile) {
  const std::string path = kDir + "fuzz_legacy_unstored_storage.bin";
  const std::string message = error_of(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("is used by a tensor but not stored in the file"), std::string::npos) << message;
}
