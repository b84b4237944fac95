// The binaries the build ships (berth and berth-oci with their static
// linking, or the sanitizer tree's), fed bad input: every bad declaration
// through `berth check` and `berth apply`, and bad arguments to every
// berth-oci command, end with one line on stderr and exit 1, never a signal
// (RunResult::status is 128+N for a signal, so `== 1` rules them out).
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "support/testenv.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < s.size()) {
    size_t nl = s.find('\n', p);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(p, nl - p));
    p = nl + 1;
  }
  return out;
}

// ---- declarations ----

struct BadDecl {
  const char* name;
  const char* ext;  // "toml" or "json"
  std::string text;
  int line;          // the line the one error names
  const char* what;  // a part of its message
};
// Test names carry the case's name (the parameter is not printed).
void PrintTo(const BadDecl& d, std::ostream* os) {
  *os << d.name;
}

const std::string kHead = "[containers.a]\nshare_host = true\n";

const std::vector<BadDecl> kBadDecls = {
    // The crash of issue 11: toml++'s parse error thrown from Debian's shared
    // libtomlplusplus could not unwind through berth's static libgcc.
    {"UnterminatedArray", "toml", kHead + "command = [\"/bin/true\"\n\n", 4, "invalid TOML"},
    {"UnterminatedString", "toml", kHead + "command = [\"/bin/true]\n", 3, "invalid TOML"},
    {"UnterminatedTable", "toml", "[containers.a\nshare_host = true\n", 1, "invalid TOML"},
    {"UnterminatedInlineTable", "toml",
     kHead + "command = [\"/bin/true\"]\nresources = { memory = \"1G\"\n", 4, "invalid TOML"},
    {"DuplicateKey", "toml", kHead + "command = [\"/bin/true\"]\ncommand = [\"/bin/sh\"]\n", 4,
     "invalid TOML"},
    {"WrongTypeCommand", "toml", kHead + "command = \"/bin/true\"\n", 3, "containers.a.command"},
    {"WrongTypeShareHost", "toml",
     "[containers.a]\nshare_host = \"yes\"\ncommand = [\"/bin/true\"]\n", 2,
     "containers.a.share_host"},
    {"UnknownKey", "toml", kHead + "command = [\"/bin/true\"]\nprivat_network = true\n", 4,
     "containers.a.privat_network"},
    {"BadSize", "toml", kHead + "command = [\"/bin/true\"]\nresources.memory = \"12 parsecs\"\n", 4,
     "containers.a.resources.memory"},
    {"HugeSize", "toml",
     kHead + "command = [\"/bin/true\"]\nresources.memory = \"" + std::string(400, '9') + "\"\n", 4,
     "containers.a.resources.memory"},
    {"HugeSizeWithUnit", "toml",
     kHead + "command = [\"/bin/true\"]\nresources.memory = \"99999999999T\"\n", 4,
     "containers.a.resources.memory"},
    {"BadDuration", "toml", kHead + "command = [\"/bin/true\"]\ntimeout_stop = \"soon\"\n", 4,
     "containers.a.timeout_stop"},
    {"HugeDuration", "toml",
     kHead + "command = [\"/bin/true\"]\ntimeout_stop = \"" + std::string(400, '9') + "s\"\n", 4,
     "containers.a.timeout_stop"},
    {"HugeInteger", "toml",
     kHead + "command = [\"/bin/true\"]\nresources.pids = 99999999999999999999999\n", 4,
     "invalid TOML"},
    {"NegativePids", "toml", kHead + "command = [\"/bin/true\"]\nresources.pids = -5\n", 4,
     "containers.a.resources.pids"},
    {"InvalidUtf8", "toml", kHead + "command = [\"/bin/\xff\xfe\"]\n", 3, "invalid TOML"},
    {"NulByte", "toml", kHead + std::string("command = [\"/bin/true\"]\n\0\n", 26), 4,
     "invalid TOML"},
    {"DateValue", "toml", kHead + "command = [\"/bin/true\"]\ntimeout_stop = 1979-05-27\n", 4,
     "containers.a.timeout_stop"},
    {"JsonTrailingComma", "json", "{\"containers\": {\"a\": {\"share_host\": true,}}}\n", 1,
     "invalid JSON"},
    {"JsonUnterminated", "json",
     "{\"containers\": {\"a\": {\"share_host\": true,\n\"command\": [\"/bin/true\"\n", 3,
     "invalid JSON"},
    {"JsonDuplicateKey", "json",
     "{\"containers\": {\"a\": {\"share_host\": true,\n\"share_host\": false, \"command\": "
     "[\"/bin/true\"]}}}\n",
     2, "duplicate key"},
    {"JsonWrongType", "json",
     "{\"containers\": {\"a\": {\"share_host\": true,\n\"command\": 5}}}\n", 2,
     "containers.a.command"},
    {"JsonHugeNumber", "json",
     "{\"containers\": {\"a\": {\"share_host\": true, \"command\": "
     "[\"/bin/true\"],\n\"resources\": {\"pids\": 1e999}}}}\n",
     2, "number overflow"},
    {"JsonInvalidUtf8", "json",
     "{\"containers\": {\"a\": {\"share_host\": true, \"command\": [\"\xc3\x28\"]}}}\n", 1,
     "invalid JSON"},
    {"JsonDeepNesting", "json", std::string(100, '[') + std::string(100, ']') + "\n", 1,
     "invalid JSON"},
    {"JsonNotAnObject", "json", "[1, 2, 3]\n", 1, ""},
    {"ImageRecipeBadFilePath", "toml",
     "[images.deb]\nsuite = \"bookworm\"\n[images.deb.files]\n\"/etc/../../x\" = \"y\"\n", 4,
     "images.deb.files"},
    {"ImageRecipeNoSuite", "toml", "\n[images.deb]\npackages = [\"dbus\"]\n", 2,
     "expected \"suite\""},
    {"ImageRecipeJsonBadMirror", "json",
     "{\"images\": {\"deb\": {\"suite\": \"bookworm\",\n\"mirror\": \"ftp://x\"}}}\n", 2,
     "images.deb.mirror"},
};

class BadDeclarations : public ::testing::TestWithParam<BadDecl> {
 protected:
  void SetUp() override {
    if (!fs::exists(berth())) GTEST_SKIP() << "berth binary not built at " << berth();
    fs::create_directories(root_ / "etc/berth");
    file_ = root_ / (std::string("etc/berth/containers.") + GetParam().ext);
    std::ofstream(file_, std::ios::binary) << GetParam().text;
  }
  // One line naming the file and the line, exit 1, nothing on stdout.
  void expect_one_error(const RunResult& r) {
    const auto& c = GetParam();
    EXPECT_EQ(r.status, 1) << "stderr: " << r.err;
    EXPECT_EQ(r.out, "");
    auto lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    std::string prefix = file_ + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(lines[0].rfind(prefix, 0), 0u) << lines[0] << "\nexpected prefix " << prefix;
    EXPECT_NE(lines[0].find(c.what), std::string::npos) << lines[0];
    EXPECT_GT(lines[0].size(), prefix.size() + 5) << "no message: " << lines[0];
  }
  TempDir root_{"berth-cli-bad"};
  std::string file_;
};

TEST_P(BadDeclarations, CheckDefaultFiles) {
  expect_one_error(run({berth(), "--root", root_.path(), "check", "--no-host-checks"}));
}

TEST_P(BadDeclarations, CheckGivenFile) {
  expect_one_error(run({berth(), "--root", root_.path(), "check", file_}));
}

TEST_P(BadDeclarations, ApplyChangesNothing) {
  SKIP_UNLESS_ROOT();
  for (const char* verb : {"plan", "apply"}) {
    SCOPED_TRACE(verb);
    expect_one_error(run({berth(), "--root", root_.path(), verb}));
  }
  EXPECT_FALSE(fs::exists(root_ / "run/berth/a")) << "apply started something";
  EXPECT_FALSE(fs::exists(root_ / "var/lib/berth/containers/a"));
  EXPECT_FALSE(fs::exists(root_ / "var/lib/berth/images/deb")) << "apply built an image";
}

INSTANTIATE_TEST_SUITE_P(Cli, BadDeclarations, ::testing::ValuesIn(kBadDecls),
                         [](const auto& info) { return std::string(info.param.name); });

// The exact report of issue 11: `berth check` printed nothing and died of
// SIGABRT on this file.
TEST(BerthCheckCrash, UnterminatedArrayIsOneLineNotAnAbort) {
  if (!fs::exists(berth())) GTEST_SKIP() << "berth binary not built at " << berth();
  TempDir dir{"berth-cli-crash"};
  std::string f = dir / "a.toml";
  std::ofstream(f) << "[containers.a]\nshare_host = true\ncommand = [\"/bin/true\"\n\n";
  auto r = run({berth(), "check", f});
  EXPECT_EQ(r.status, 1) << "134 is SIGABRT; stderr: " << r.err;
  EXPECT_TRUE(std::regex_match(r.err, std::regex(f + ":4: invalid TOML: .+\n"))) << r.err;
}

// The shipped berth needs no shared library for netlink or nftables at
// exec: libnl is linked in, and libnftables (with libnftnl, libmnl,
// libjansson, libgmp and libxtables) is loaded when a rule is first written
// (net/nft.cpp), so a start does not pay for loading them; likewise
// libarchive, libcurl and libcrypto, which only `berth image` loads
// (image/libs.cpp).
TEST(BerthLinkage, NoNetlinkOrNftablesLibraryAtExec) {
  if (!fs::exists(berth())) GTEST_SKIP() << "berth binary not built at " << berth();
  auto r = run({"readelf", "-d", berth()});
  if (r.status == 127) GTEST_SKIP() << "readelf (binutils) is not installed";
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_NE(r.out.find("(NEEDED)"), std::string::npos) << r.out;
  for (const char* lib : {"libnl", "libnftables", "libnftnl", "libmnl", "libjansson", "libgmp",
                          "libxtables", "libarchive", "libcurl", "libcrypto", "libssl"})
    EXPECT_EQ(r.out.find(std::string("[") + lib), std::string::npos) << lib << "\n" << r.out;
}

// ---- berth's verbs on a container that is not there ----

struct BadArgs {
  const char* name;
  std::vector<std::string> args;  // after --root ROOT
  const char* what;               // a part of the one line
};
void PrintTo(const BadArgs& a, std::ostream* os) {
  *os << a.name;
}

// args after --root ROOT (an empty root); `what` is a part of the one line.
const std::vector<BadArgs> kBerthBadArgs = {
    {"KillNotRunning", {"kill", "berth-cli-nosuch"}, "berth-cli-nosuch is not running"},
    {"KillAllNotRunning", {"kill", "--who=all", "berth-cli-nosuch"}, "is not running"},
    {"KillBadSignal", {"kill", "berth-cli-nosuch", "--signal", "SIGNOPE"}, "invalid signal"},
    {"EnableUndeclared", {"enable", "berth-cli-nosuch"}, "no such container declared"},
    {"DisableUndeclared", {"disable", "berth-cli-nosuch"}, "no such container declared"},
    {"CopyToNotRunning", {"copy-to", "berth-cli-nosuch", "/etc/hostname", "/x"}, "not running"},
    {"CopyToRelativePath", {"copy-to", "berth-cli-nosuch", "/etc/hostname", "x"}, "absolute"},
    {"CopyFromNotRunning",
     {"copy-from", "berth-cli-nosuch", "/etc", "/nonexistent-berth-cli"},
     "not running"},
    {"BindNotRunning",
     {"bind", "berth-cli-nosuch", "/etc", "/x"},
     "berth-cli-nosuch is not running"},
    {"BindRelativePath", {"bind", "berth-cli-nosuch", "/etc", "x"}, "absolute"},
    {"BindMissingHostPath",
     {"bind", "berth-cli-nosuch", "/nonexistent-berth-cli", "/x", "--mkdir"},
     "/nonexistent-berth-cli: No such file or directory"},
    {"UnbindNotRunning", {"unbind", "berth-cli-nosuch", "/x"}, "berth-cli-nosuch is not running"},
    {"ImageImportBadName",
     {"image", "import", "Bad_Name", "/nonexistent-berth-cli.tar"},
     "invalid image name"},
    {"ImageImportMissingFile",
     {"image", "import", "img", "/nonexistent-berth-cli.tar"},
     "/nonexistent-berth-cli.tar: No such file or directory"},
    {"ImageImportBadChecksum",
     {"image", "import", "img", "/etc/hostname", "--checksum", "xyz"},
     "expected a SHA-256"},
    {"ImageImportFtp",
     {"image", "import", "img", "ftp://127.0.0.1/x.tar", "--no-verify"},
     "only http:// and https://"},
    {"ImageRemoveMissing", {"image", "remove", "berth-cli-nosuch"}, "no image berth-cli-nosuch"},
    {"ImageExportMissing",
     {"image", "export", "berth-cli-nosuch", "/nonexistent-berth-cli.tar"},
     "no image berth-cli-nosuch"},
    {"ImageBuildUndeclared",
     {"image", "build", "berth-cli-nosuch"},
     "no [images.berth-cli-nosuch] in the declarations"},
    // (or "journalctl is not installed", on a host without it)
    {"JournalUndeclared",
     {"logs", "berth-cli-nosuch", "--journal"},
     "berth: logs berth-cli-nosuch: "},
};

class BerthBadArgs : public ::testing::TestWithParam<BadArgs> {
 protected:
  TempDir root_{"berth-cli-root"};
};

TEST_P(BerthBadArgs, OneLineAndExit1) {
  if (!fs::exists(berth())) GTEST_SKIP() << "berth binary not built at " << berth();
  std::vector<std::string> argv = {berth(), "--root", root_.path()};
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  auto r = run(argv);
  EXPECT_EQ(r.status, 1) << "stderr: " << r.err;
  EXPECT_EQ(r.out, "");
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find(GetParam().what), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("internal error"), std::string::npos) << lines[0];
  EXPECT_TRUE(fs::is_empty(root_.path())) << "left in " << root_.path();
  EXPECT_FALSE(fs::exists("/nonexistent-berth-cli"));
}

INSTANTIATE_TEST_SUITE_P(Cli, BerthBadArgs, ::testing::ValuesIn(kBerthBadArgs),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- berth-oci ----

// {PROCESS} in an argument is replaced by a file holding bad --process JSON,
// {SPEC} by a bundle directory with a bad config.json.
const std::vector<BadArgs> kBadArgs = {
    {"NoCommand", {}, "subcommand"},
    {"UnknownCommand", {"frobnicate"}, "subcommand"},
    {"UnknownGlobalFlag", {"--frobnicate", "list"}, "frobnicate"},
    {"StateMissingId", {"state"}, "container-id"},
    {"StateNonexistent", {"state", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"StateUnknownFlag", {"state", "--bogus", "x"}, "bogus"},
    {"StartMissingId", {"start"}, "container-id"},
    {"StartNonexistent", {"start", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"KillMissingId", {"kill"}, "container-id"},
    {"KillNonexistent", {"kill", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"KillHugeSignal", {"kill", "berth-cli-nosuch", "99999999999"}, "invalid signal"},
    {"KillNegativeSignal", {"kill", "berth-cli-nosuch", "-9"}, ""},
    {"KillZeroSignal", {"kill", "berth-cli-nosuch", "0"}, "invalid signal"},
    {"KillBadName", {"kill", "berth-cli-nosuch", "SIGNOPE"}, "invalid signal"},
    {"KillHugeRtOffset", {"kill", "berth-cli-nosuch", "RTMIN+99999999999"}, "invalid signal"},
    {"KillRtOverflow", {"kill", "berth-cli-nosuch", "RTMAX-2147483647"}, "invalid signal"},
    {"DeleteMissingId", {"delete"}, "container-id"},
    {"DeleteNonexistent", {"delete", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"PsNonexistent", {"ps", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"ListUnknownFormat", {"list", "--format", "yaml"}, "yaml"},
    {"CreateMissingId", {"create"}, "container-id"},
    {"CreateMissingBundle",
     {"create", "--bundle", "/nonexistent-berth-cli", "berth-cli-x"},
     "nonexistent"},
    {"CreateBadConfig", {"create", "--bundle", "{SPEC}", "berth-cli-x"}, "config.json"},
    {"RunBadConfig", {"run", "--bundle", "{SPEC}", "berth-cli-x"}, "config.json"},
    // Found by fuzz_oci: a number JSON cannot hold aborted berth-oci.
    {"CreateConfigNumberOverflow",
     {"create", "--bundle", "{HUGE}", "berth-cli-x"},
     "number overflow"},
    {"ExecMissingId", {"exec"}, "container-id"},
    {"ExecNonexistent", {"exec", "berth-cli-nosuch", "/bin/true"}, "berth-cli-nosuch"},
    {"ExecBadUser",
     {"exec", "--user", "root", "berth-cli-nosuch", "/bin/true"},
     "berth-cli-nosuch"},
    {"ExecHugeUser",
     {"exec", "--user", "99999999999", "berth-cli-nosuch", "/bin/true"},
     "berth-cli-nosuch"},
    {"ExecNegativeUser",
     {"exec", "--user", "-1:-1", "berth-cli-nosuch", "/bin/true"},
     "berth-cli-nosuch"},
    {"ExecHugeGid",
     {"exec", "-g", "99999999999", "berth-cli-nosuch", "/bin/true"},
     "berth-cli-nosuch"},
    {"ExecHugePreserveFds",
     {"exec", "--preserve-fds", "99999999999", "berth-cli-nosuch", "/bin/true"},
     "preserve-fds"},
    {"ExecMissingProcessFile",
     {"exec", "--process", "/nonexistent-berth-cli.json", "berth-cli-nosuch"},
     ""},
    {"ExecBadProcessJson", {"exec", "--process", "{PROCESS}", "berth-cli-nosuch"}, ""},
    {"UpdateNonexistent", {"update", "--memory", "256m", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"UpdateBadMemory", {"update", "--memory", "lots", "berth-cli-nosuch"}, "--memory"},
    {"UpdateHugeMemory",
     {"update", "--memory", "99999999999999999999999t", "berth-cli-nosuch"},
     "--memory"},
    {"UpdateInfMemory", {"update", "--memory", "inf", "berth-cli-nosuch"}, "--memory"},
    {"UpdateHugeCpuShares",
     {"update", "--cpu-shares", "999999999999999999999999", "berth-cli-nosuch"},
     ""},
    {"UpdateNegativeCpuShares", {"update", "--cpu-shares", "-1", "berth-cli-nosuch"}, ""},
    {"UpdateBadBlkioWeight",
     {"update", "--blkio-weight", "70000", "berth-cli-nosuch"},
     "blkio-weight"},
    {"UpdateBadResourcesFile", {"update", "--resources", "{PROCESS}", "berth-cli-nosuch"}, ""},
    {"PauseNonexistent", {"pause", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"ResumeNonexistent", {"resume", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"EventsNonexistent", {"events", "--stats", "berth-cli-nosuch"}, "berth-cli-nosuch"},
    {"EventsHugeInterval", {"events", "--interval", "99999999999", "berth-cli-nosuch"}, "interval"},
    {"SpecUnknownFlag", {"spec", "--bogus"}, "bogus"},
    {"SpecNonexistentBundle", {"spec", "--bundle", "/nonexistent-berth-cli/x"}, ""},
    {"BadLogFormat", {"--log-format", "xml", "list"}, "xml"},
    {"BadCgroupManager", {"--cgroup-manager", "nope", "list"}, "nope"},
};

class OciBadArgs : public ::testing::TestWithParam<BadArgs> {
 protected:
  void SetUp() override {
    if (access(berth_oci().c_str(), X_OK) != 0)
      GTEST_SKIP() << "berth-oci not built at " << berth_oci();
    std::ofstream(dir_ / "process.json")
        << "{\"args\": [\"/bin/true\"], \"cwd\": 5, \"user\": {\"uid\": 1e99}";
    fs::create_directories(dir_ / "bundle");
    std::ofstream(dir_ / "bundle/config.json")
        << "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [], \"cwd\": \"relative\"}, "
           "\"root\": {\"path\": 7}}";
    fs::create_directories(dir_ / "huge");
    std::ofstream(dir_ / "huge/config.json")
        << "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 1e999}}}";
  }
  TempDir dir_{"berth-cli-oci"};
  TempDir root_{"berth-cli-oci-root"};
};

TEST_P(OciBadArgs, OneLineAndExit1) {
  std::vector<std::string> argv = {berth_oci(), "--root", root_.path()};
  for (auto a : GetParam().args) {
    if (a == "{PROCESS}") a = dir_ / "process.json";
    if (a == "{SPEC}") a = dir_ / "bundle";
    if (a == "{HUGE}") a = dir_ / "huge";
    argv.push_back(a);
  }
  RunOptions o;
  o.timeout_sec = 30;
  auto r = run(argv, o);
  EXPECT_EQ(r.status, 1) << "stderr: " << r.err;
  auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_NE(lines[0].find(GetParam().what), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("internal error"), std::string::npos) << lines[0];
  // Nothing was created in the state root.
  EXPECT_TRUE(fs::is_empty(root_.path())) << "state left in " << root_.path();
}

INSTANTIATE_TEST_SUITE_P(Cli, OciBadArgs, ::testing::ValuesIn(kBadArgs),
                         [](const auto& info) { return std::string(info.param.name); });

// The report of issue 11: an out-of-range signal number aborted berth-oci
// with std::out_of_range from std::stoi.
TEST(OciKillCrash, HugeSignalNumberIsAnErrorNotAnAbort) {
  if (access(berth_oci().c_str(), X_OK) != 0)
    GTEST_SKIP() << "berth-oci not built at " << berth_oci();
  TempDir root{"berth-cli-oci-root"};
  auto r = run({berth_oci(), "--root", root.path(), "kill", "ID", "99999999999"});
  EXPECT_EQ(r.status, 1) << "134 is SIGABRT; stderr: " << r.err;
  EXPECT_NE(r.err.find("invalid signal \"99999999999\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace berth::test
