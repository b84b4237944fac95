// resolv_conf (manager/resolv.h): what each mode makes of the host's files,
// and how the tree's /etc/resolv.conf is written, kept or replaced.
#include "manager/resolv.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "base/files.h"
#include "support/testenv.h"

namespace berth::manager {
namespace {

class Resolv : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(mkdir_p(root_.path() + "/etc", 0755));
    ASSERT_TRUE(mkdir_p(tree_.path() + "/etc", 0755));
    paths_ = decl::Paths::under(root_.path());
    host("nameserver 127.0.0.1\nnameserver 192.0.2.53\nsearch example.test\n");
    c_.name = "web";
  }
  void host(const std::string& text) {
    ASSERT_TRUE(write_file_atomic(host_resolv_conf(paths_), text, 0644, false));
  }
  std::string tree_file() { return tree_.path() + "/etc/resolv.conf"; }
  void private_net() {
    c_.private_network = true;
    c_.host_address = decl::Cidr{false, "10.233.1.1", 32, false};
    c_.local_address = decl::Cidr{false, "10.233.1.2", 32, false};
  }
  test::TempDir root_{"berth-test-resolv-root"}, tree_{"berth-test-resolv-tree"};
  decl::Paths paths_;
  decl::Container c_;
};

TEST_F(Resolv, AutoWithoutPrivateNetworkCopiesTheHosts) {
  auto s = resolv_setup(paths_, c_);
  EXPECT_EQ(s.action, ResolvSetup::Action::Write);
  EXPECT_TRUE(s.forwarder_listen.empty());
  ASSERT_TRUE(place_resolv_conf(tree_.path(), s));
  EXPECT_EQ(*read_file(tree_file()), *read_file(host_resolv_conf(paths_)));
}

TEST_F(Resolv, AutoWithAHostAddressPointsAtTheForwarder) {
  private_net();
  c_.host_address6 = decl::Cidr{true, "fd62:6572:7468:1::1", 128, false};
  c_.local_address6 = decl::Cidr{true, "fd62:6572:7468:1::2", 128, false};
  auto s = resolv_setup(paths_, c_);
  ASSERT_EQ(s.forwarder_listen.size(), 2u);
  EXPECT_EQ(s.forwarder_listen[0].str(), "10.233.1.1");
  EXPECT_EQ(s.upstream_file, host_resolv_conf(paths_));
  EXPECT_NE(s.content.find("nameserver 10.233.1.1\nnameserver fd62:6572:7468:1::1\n"),
            std::string::npos)
      << s.content;
  EXPECT_NE(s.content.find("search example.test"), std::string::npos);
  EXPECT_EQ(s.content.find("127.0.0.1"), std::string::npos);
}

TEST_F(Resolv, AutoOnABridgeDropsLoopbackNameservers) {
  private_net();
  c_.host_address.reset();
  c_.host_bridge = "br0";
  auto s = resolv_setup(paths_, c_);
  EXPECT_TRUE(s.forwarder_listen.empty());
  EXPECT_EQ(s.content.find("127.0.0.1"), std::string::npos) << s.content;
  EXPECT_NE(s.content.find("nameserver 192.0.2.53"), std::string::npos) << s.content;
}

TEST_F(Resolv, CopyKeepsASymlinkReplaceReplacesIt) {
  ASSERT_EQ(::symlink("../run/systemd/resolve/stub-resolv.conf", tree_file().c_str()), 0);
  c_.resolv_conf = decl::ResolvConf::CopyHost;
  auto note = place_resolv_conf(tree_.path(), resolv_setup(paths_, c_));
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("symlink: kept"), std::string::npos) << *note;
  struct stat st;
  ASSERT_EQ(::lstat(tree_file().c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  c_.resolv_conf = decl::ResolvConf::ReplaceHost;
  ASSERT_TRUE(place_resolv_conf(tree_.path(), resolv_setup(paths_, c_)));
  ASSERT_EQ(::lstat(tree_file().c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(*read_file(tree_file()), *read_file(host_resolv_conf(paths_)));
}

// An /etc that is a symlink out of the tree is resolved inside it.
TEST_F(Resolv, EtcSymlinkStaysInTheTree) {
  test::TempDir outside{"berth-test-resolv-out"};
  ASSERT_EQ(::rmdir((tree_.path() + "/etc").c_str()), 0);
  ASSERT_EQ(::symlink(outside.path().c_str(), (tree_.path() + "/etc").c_str()), 0);
  c_.resolv_conf = decl::ResolvConf::ReplaceHost;
  (void)place_resolv_conf(tree_.path(), resolv_setup(paths_, c_));
  EXPECT_FALSE(path_exists(outside.path() + "/resolv.conf"));
}

TEST_F(Resolv, UplinkDeleteOffAndBind) {
  ASSERT_TRUE(mkdir_p(root_.path() + "/run/systemd/resolve", 0755));
  ASSERT_TRUE(
      write_file_atomic(uplink_resolv_conf(paths_), "nameserver 198.51.100.1\n", 0644, false));
  c_.resolv_conf = decl::ResolvConf::CopyUplink;
  ASSERT_TRUE(place_resolv_conf(tree_.path(), resolv_setup(paths_, c_)));
  EXPECT_EQ(*read_file(tree_file()), "nameserver 198.51.100.1\n");
  c_.resolv_conf = decl::ResolvConf::Off;
  EXPECT_EQ(resolv_setup(paths_, c_).action, ResolvSetup::Action::None);
  c_.resolv_conf = decl::ResolvConf::BindUplink;
  auto b = resolv_setup(paths_, c_);
  EXPECT_EQ(b.action, ResolvSetup::Action::Bind);
  EXPECT_EQ(b.bind_source, uplink_resolv_conf(paths_));
  c_.resolv_conf = decl::ResolvConf::Delete;
  ASSERT_TRUE(place_resolv_conf(tree_.path(), resolv_setup(paths_, c_)));
  EXPECT_FALSE(path_exists(tree_file()));
  // No uplink file: the host's, and a note that says so.
  ASSERT_EQ(::unlink(uplink_resolv_conf(paths_).c_str()), 0);
  c_.resolv_conf = decl::ResolvConf::CopyUplink;
  auto s = resolv_setup(paths_, c_);
  EXPECT_NE(s.note.find("the host's instead"), std::string::npos) << s.note;
  EXPECT_EQ(s.content, *read_file(host_resolv_conf(paths_)));
}

TEST(ExtraHosts, BlockAddedReplacedAndRemoved) {
  std::string base = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
  std::map<std::string, std::string> one = {{"db.example", "192.0.2.10"}};
  std::string with = hosts_with_extra(base, one);
  EXPECT_EQ(with,
            base + "# BEGIN berth extra_hosts\n192.0.2.10\tdb.example\n# END berth extra_hosts\n");
  std::map<std::string, std::string> two = {{"a.example", "2001:db8::1"},
                                            {"db.example", "192.0.2.11"}};
  std::string again = hosts_with_extra(with + "10.0.0.1\tlater\n", two);
  EXPECT_EQ(again, base +
                       "10.0.0.1\tlater\n# BEGIN berth extra_hosts\n2001:db8::1\ta.example\n"
                       "192.0.2.11\tdb.example\n# END berth extra_hosts\n");
  EXPECT_EQ(hosts_with_extra(again, {}), base + "10.0.0.1\tlater\n");
  EXPECT_EQ(hosts_with_extra(hosts_with_extra(base, two), two), hosts_with_extra(base, two));
}

TEST_F(Resolv, ExtraHostsPlacedInTheTreeAndASymlinkKept) {
  std::ofstream(tree_.path() + "/etc/hosts") << "127.0.0.1 localhost\n";
  ASSERT_TRUE(place_extra_hosts(tree_.path(), {{"db.example", "192.0.2.10"}}));
  EXPECT_EQ(*read_file(tree_.path() + "/etc/hosts"),
            "127.0.0.1 localhost\n# BEGIN berth extra_hosts\n192.0.2.10\tdb.example\n# END berth "
            "extra_hosts\n");
  ASSERT_TRUE(place_extra_hosts(tree_.path(), {}));
  EXPECT_EQ(*read_file(tree_.path() + "/etc/hosts"), "127.0.0.1 localhost\n");
  ASSERT_EQ(::unlink((tree_.path() + "/etc/hosts").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/hosts", (tree_.path() + "/etc/hosts").c_str()), 0);
  auto note = place_extra_hosts(tree_.path(), {{"db.example", "192.0.2.10"}});
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace berth::manager
