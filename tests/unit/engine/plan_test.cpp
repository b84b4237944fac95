// What create works out from a spec before it makes anything, without root:
// the namespace plan (engine/namespaces.h), the spec checks and the rootfs
// (engine/plan.h), and when the seccomp filter goes in (engine/workload.h).
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/files.h"
#include "engine/namespaces.h"
#include "engine/plan.h"
#include "engine/workload.h"
#include "support/testenv.h"

namespace berth::engine {
namespace {

// `berth-oci spec`'s default, detached (its default has a terminal, as runc's).
oci::Spec detached() {
  oci::Spec s = oci::default_spec();
  s.process->terminal = false;
  return s;
}

oci::Spec with_namespaces(std::vector<oci::Namespace> ns) {
  oci::Spec s = detached();
  s.linux->namespaces = std::move(ns);
  return s;
}

void expect_error(const Result<NamespacePlan>& r, const std::string& part) {
  ASSERT_FALSE(r) << "no error; wanted one with \"" << part << "\"";
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
}

TEST(Namespaces, TableKnowsEveryTypeUserFirst) {
  auto all = all_namespaces();
  ASSERT_EQ(all.size(), 8u);
  EXPECT_STREQ(all[0].type, "user");
  for (auto& n : all) EXPECT_EQ(ns_info(n.type), &n);
  EXPECT_EQ(ns_info("network")->flag, CLONE_NEWNET);
  EXPECT_STREQ(ns_info("mount")->proc, "mnt");
  EXPECT_EQ(ns_info("net"), nullptr);  // the /proc name is not the OCI type
  EXPECT_EQ(ns_info(""), nullptr);
}

TEST(PlanNamespaces, NoLinuxSectionIsNoNamespace) {
  oci::Spec s = oci::default_spec();
  s.linux.reset();
  auto p = plan_namespaces(s);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->clone_flags, 0);
  EXPECT_FALSE(p->own_mount());
  EXPECT_TRUE(p->types.empty());
}

TEST(PlanNamespaces, NewOnesAreCloneFlagsButCgroupAndTimeComeLater) {
  auto p = plan_namespaces(with_namespaces({{"pid", ""},
                                            {"network", ""},
                                            {"ipc", ""},
                                            {"uts", ""},
                                            {"mount", ""},
                                            {"cgroup", ""},
                                            {"time", ""}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->clone_flags,
            CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS);
  EXPECT_TRUE(p->new_cgroup);
  EXPECT_TRUE(p->new_time);
  EXPECT_FALSE(p->new_user);
  EXPECT_TRUE(p->own_mount());
  EXPECT_EQ(p->types,
            (std::vector<std::string>{"pid", "network", "ipc", "uts", "mount", "cgroup", "time"}));
}

TEST(PlanNamespaces, JoinedByPathUserFirstPidApart) {
  auto p = plan_namespaces(with_namespaces({{"network", "/proc/self/ns/net"},
                                            {"pid", "/proc/self/ns/pid"},
                                            {"mount", "/proc/self/ns/mnt"},
                                            {"user", "/proc/self/ns/user"}}));
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->clone_flags, 0);
  ASSERT_EQ(p->joins.size(), 3u);
  EXPECT_STREQ(p->joins[0].first->type, "user");
  EXPECT_STREQ(p->joins[1].first->type, "network");
  EXPECT_STREQ(p->joins[2].first->type, "mount");
  ASSERT_NE(p->join_pid, nullptr);
  EXPECT_EQ(p->join_pid_path, "/proc/self/ns/pid");
  EXPECT_TRUE(p->own_mount());  // joined counts as its own
}

TEST(PlanNamespaces, AJoinedPathThatIsNotThereIsAnErrorNamingIt) {
  expect_error(plan_namespaces(with_namespaces({{"network", "/nonexistent/netns"}})),
               "linux.namespaces: network namespace path /nonexistent/netns");
}

TEST(PlanNamespaces, UnknownTypeIsAnError) {
  expect_error(plan_namespaces(with_namespaces({{"net", ""}})),
               "linux.namespaces: unknown type \"net\"");
}

TEST(PlanNamespaces, ANewUserNamespaceNeedsBothMappings) {
  auto s = with_namespaces({{"user", ""}, {"mount", ""}});
  expect_error(plan_namespaces(s), "linux.uidMappings: a new user namespace needs");
  s.linux->uid_mappings = {{0, 100000, 65536}};
  expect_error(plan_namespaces(s), "needs uidMappings and gidMappings");
  s.linux->gid_mappings = {{0, 100000, 65536}};
  auto p = plan_namespaces(s);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(p->new_user);
  EXPECT_EQ(p->clone_flags, CLONE_NEWUSER | CLONE_NEWNS);
}

TEST(PlanNamespaces, CombinationsTheEngineCannotMakeAreRefused) {
  auto s = with_namespaces({{"user", ""}, {"pid", "/proc/self/ns/pid"}});
  s.linux->uid_mappings = s.linux->gid_mappings = {{0, 100000, 65536}};
  expect_error(plan_namespaces(s), "joining a pid namespace together with a new user namespace");
  expect_error(plan_namespaces(with_namespaces({{"user", "/proc/self/ns/user"}, {"uts", ""}})),
               "joining a user namespace by path while creating other namespaces");
}

TEST(ValidateForCreate, TheDefaultSpecPasses) {
  EXPECT_TRUE(validate_for_create(detached(), {}));
}

TEST(ValidateForCreate, TheProcessIsRequiredWithArgsAndAnAbsoluteCwd) {
  auto s = detached();
  s.process->cwd = "tmp";
  auto r = validate_for_create(s, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "process.cwd: must be an absolute path, got \"tmp\"");
  s.process->args.clear();
  EXPECT_EQ(validate_for_create(s, {}).error().message, "process.args: must not be empty");
  s.process.reset();
  EXPECT_EQ(validate_for_create(s, {}).error().message,
            "process: is required to create a container");
}

TEST(ValidateForCreate, MappingsNeedAUserNamespaceOffsetsATimeNamespace) {
  auto s = detached();
  s.linux->uid_mappings = {{0, 1000, 1}};
  EXPECT_EQ(validate_for_create(s, {}).error().message,
            "linux.uidMappings: requires a user namespace");
  s = detached();
  s.linux->time_offsets["monotonic"] = {10, 0};
  EXPECT_EQ(validate_for_create(s, {}).error().message,
            "linux.timeOffsets: requires a time namespace");
  s.linux->namespaces.push_back({"time", ""});
  EXPECT_TRUE(validate_for_create(s, {}));
}

TEST(ValidateForCreate, ATerminalNeedsSomewhereToSendItAndOnlyATerminalDoes) {
  auto s = oci::default_spec();
  ASSERT_TRUE(s.process->terminal);
  auto r = validate_for_create(s, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot allocate tty"), std::string::npos);
  CreateOptions with_socket;
  with_socket.console_socket = "/run/x.sock";
  EXPECT_TRUE(validate_for_create(s, with_socket));
  UniqueFd out;
  CreateOptions in_process;
  in_process.console_out = &out;
  EXPECT_TRUE(validate_for_create(s, in_process));
  s.process->terminal = false;
  r = validate_for_create(s, with_socket);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot use console socket"), std::string::npos);
}

TEST(ResolveRootfs, RelativeToTheBundleWithSymlinksResolved) {
  test::TempDir d("berth-test-rootfs");
  ASSERT_TRUE(mkdir_p(d / "real/tree").ok());
  ASSERT_EQ(::symlink("real/tree", (d / "rootfs").c_str()), 0);
  auto s = oci::default_spec();
  auto r = resolve_rootfs(s, d.path());
  ASSERT_TRUE(r) << r.error().message;
  char real[PATH_MAX];
  ASSERT_NE(::realpath((d / "real/tree").c_str(), real), nullptr);
  EXPECT_EQ(*r, real);
  s.root.path = d / "real/tree";  // absolute: the bundle does not matter
  EXPECT_EQ(resolve_rootfs(s, "/nonexistent").value(), real);
}

TEST(ResolveRootfs, MissingEmptyOrNotADirectoryIsAnError) {
  test::TempDir d("berth-test-rootfs");
  auto s = oci::default_spec();
  auto r = resolve_rootfs(s, d.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("root.path"), std::string::npos) << r.error().message;
  ASSERT_TRUE(write_file_atomic(d / "rootfs", "x").ok());
  r = resolve_rootfs(s, d.path());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not a directory"), std::string::npos) << r.error().message;
  s.root.path = "";
  EXPECT_EQ(resolve_rootfs(s, d.path()).error().message, "root.path: is required");
}

seccomp::Program program(bool notify) {
  seccomp::Program p;
  p.uses_notify = notify;
  return p;
}

TEST(FilterEarly, ANotifyFilterIsAlwaysEarly) {
  oci::Process p = *oci::default_spec().process;
  p.no_new_privileges = true;
  EXPECT_TRUE(filter_early(p, program(true)));
  EXPECT_FALSE(filter_early(p, program(false)));  // no_new_privs: right before execve
}

TEST(FilterEarly, WithoutNoNewPrivsItIsEarlyUnlessCapSysAdminStaysEffective) {
  oci::Process p = *oci::default_spec().process;
  p.no_new_privileges = false;
  ASSERT_TRUE(p.capabilities);
  EXPECT_TRUE(filter_early(p, program(false)));  // the default set has no CAP_SYS_ADMIN
  p.capabilities->effective.push_back("CAP_SYS_ADMIN");
  EXPECT_FALSE(filter_early(p, program(false)));
  p.capabilities.reset();  // capabilities untouched: root keeps them, others lose them
  p.user.uid = 0;
  EXPECT_FALSE(filter_early(p, program(false)));
  p.user.uid = 1000;
  EXPECT_TRUE(filter_early(p, program(false)));
}

}  // namespace
}  // namespace berth::engine
