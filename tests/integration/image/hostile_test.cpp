// Hostile archives (crafted with python3's tarfile): each is refused with one
// line and exit 1, leaves nothing in the store, and nothing outside the tree
// is touched (a victim directory outside holds one file, unchanged). Device
// nodes are skipped, saying so, and the import goes on.
#include "image_fixture.h"

namespace berth::test {
namespace {

// make.py OUT CASE OUTSIDE: writes the archive of CASE; OUTSIDE is the victim
// directory (absolute), reached from the tree by '..' or by a symlink.
const char* kMaker = R"(
import io, sys, tarfile
out, case, outside = sys.argv[1], sys.argv[2], sys.argv[3]
up = '../' * 24 + outside.lstrip('/')
t = tarfile.open(out, 'w:gz' if case.endswith('-gz') else 'w', format=tarfile.PAX_FORMAT)
case = case[:-3] if case.endswith('-gz') else case
def add(name, data=b'pwned\n', **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    if i.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    else:
        t.addfile(i)
def d(name): add(name, type=tarfile.DIRTYPE, mode=0o755)
d('./'); d('./etc')
if case == 'dotdot': add('../escaped')
elif case == 'dotdot-deep': add('./etc/../../' + up + '/new')
elif case == 'absolute': add(outside + '/new')
elif case == 'symlink-dir':
    add('./out', type=tarfile.SYMTYPE, linkname=outside)
    add('./out/new')
elif case == 'symlink-relative':
    add('./etc/up', type=tarfile.SYMTYPE, linkname=up)
    add('./etc/up/new')
elif case == 'symlink-file':
    add('./etc/victim', type=tarfile.SYMTYPE, linkname=outside + '/victim')
    add('./etc/victim/x')
elif case == 'hardlink-dotdot': add('./etc/h', type=tarfile.LNKTYPE, linkname=up + '/victim')
elif case == 'hardlink-absolute': add('./etc/h', type=tarfile.LNKTYPE, linkname=outside + '/victim')
elif case == 'hardlink-through-symlink':
    add('./s', type=tarfile.SYMTYPE, linkname=outside)
    add('./etc/h', type=tarfile.LNKTYPE, linkname='s/victim')
elif case == 'hardlink-missing': add('./etc/h', type=tarfile.LNKTYPE, linkname='etc/nothing')
elif case == 'entries':
    for n in range(50): add('./etc/f%d' % n)
elif case == 'size': add('./etc/big', data=b'x' * (2 << 20))
elif case == 'devices':
    d('./dev')
    add('./dev/null', type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666)
    add('./dev/sda', type=tarfile.BLKTYPE, devmajor=8, devminor=0, mode=0o660)
    add('./etc/ok', data=b'fine\n')
elif case == 'replace-symlink':
    add('./etc/victim', type=tarfile.SYMTYPE, linkname=outside + '/victim')
    add('./etc/victim', data=b'replaced\n')
t.close()
)";

struct Hostile {
  const char* name;
  std::vector<std::string> flags;
  const char* what;  // a part of the one line
};
void PrintTo(const Hostile& h, std::ostream* os) {
  *os << h.name;
}

const std::vector<Hostile> kHostile = {
    {"dotdot", {}, "a '..' component"},
    {"dotdot-deep", {}, "a '..' component"},
    {"absolute", {}, "an absolute name"},
    {"symlink-dir", {}, "is a symlink or not a directory"},
    {"symlink-relative", {}, "is a symlink or not a directory"},
    {"symlink-file", {}, "is a symlink or not a directory"},
    {"hardlink-dotdot", {}, "a '..' component"},
    {"hardlink-absolute", {}, "an absolute name"},
    {"hardlink-through-symlink", {}, "is a symlink or not a directory"},
    {"hardlink-missing", {}, "not in the tree before it"},
    {"entries", {"--max-entries", "20"}, "more than 20 entries"},
    {"size", {"--max-size", "1M"}, "more than 1048576 bytes"},
    {"symlink-dir-gz", {}, "is a symlink or not a directory"},
    {"dotdot-gz", {}, "a '..' component"},
};

class HostileArchives : public ImageTest, public ::testing::WithParamInterface<Hostile> {
 protected:
  std::string make(const std::string& kase) {
    fs::create_directories(outside_.path());
    std::ofstream(outside_ / "victim") << "original\n";
    std::ofstream(work_ / "make.py") << kMaker;
    std::string out = work_ / (kase + ".tar");
    auto r = run({"python3", work_ / "make.py", out, kase, outside_.path()});
    EXPECT_EQ(r.status, 0) << r.err;
    return out;
  }
  void expect_outside_untouched() {
    EXPECT_EQ(slurp_file(outside_ / "victim"), "original\n");
    std::vector<std::string> there;
    for (auto& e : fs::directory_iterator(outside_.path())) there.push_back(e.path().filename());
    EXPECT_EQ(there, std::vector<std::string>{"victim"});
    struct stat st;
    ASSERT_EQ(::stat((outside_ / "victim").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << "a hard link to the victim was made";
  }
  TempDir outside_{"berth-image-outside"};
};

TEST_P(HostileArchives, RefusedWithOneLineAndNothingLeft) {
  const Hostile& h = GetParam();
  std::vector<std::string> args = {"image", "import", "evil", make(h.name)};
  args.insert(args.end(), h.flags.begin(), h.flags.end());
  auto r = berth(args);
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(h.what), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("berth: image import evil: ", 0), 0u) << r.err;
  EXPECT_TRUE(store_entries().empty()) << "left in the store: " << store_entries().size();
  expect_outside_untouched();
}

INSTANTIATE_TEST_SUITE_P(Image, HostileArchives, ::testing::ValuesIn(kHostile), [](const auto& i) {
  std::string s = i.param.name;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
});

// Not refused: device nodes are left out (the runtime makes /dev), a line
// each, and a symlink that a later entry replaces is replaced, not followed.
TEST_F(HostileArchives, DevicesSkippedSymlinksReplaced) {
  auto r = berth({"image", "import", "dev", make("devices")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("skipped device node ./dev/null (the runtime makes /dev)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("skipped device node ./dev/sda"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(fs::symlink_status(rootfs("dev") + "/dev/null")));
  EXPECT_EQ(slurp_file(rootfs("dev") + "/etc/ok"), "fine\n");

  r = berth({"image", "import", "replace", make("replace-symlink")});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(rootfs("replace") + "/etc/victim")));
  EXPECT_EQ(slurp_file(rootfs("replace") + "/etc/victim"), "replaced\n");
  expect_outside_untouched();
}

// A tar cut short in a file's data: a damaged archive, nothing left.
TEST_F(HostileArchives, TruncatedArchive) {
  std::string a = archive("tar");
  fs::resize_file(a, fs::file_size(a) / 2);
  auto r = berth({"image", "import", "cut", a});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(store_entries().empty());
}

}  // namespace
}  // namespace berth::test
