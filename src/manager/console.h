// The console of a running container: the pty a boot container's monitor
// holds (logged, and relayed to one attached client at a time) and `berth
// login` on top of it. Shells through the engine's exec are in shell.h.
#pragma once

#include <poll.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "decl/decl.h"
#include "decl/paths.h"
#include "manager/runtime.h"

namespace berth::manager {

// <run>/NAME/console.sock: where `berth login` attaches.
std::string console_socket(const RunDir& rd);

// Whether a container gets a console pty: boot containers do (their init and
// getty expect a terminal, as under systemd-nspawn --boot). A command keeps
// its pipes: stdout and stderr stay apart and byte-exact in the log, and a
// program does not turn interactive (prompts, colours, line editing, SIGHUP
// on hangup) only because its stdout is a terminal.
bool wants_console(const decl::Container& c);

// The monitor's side. The master of the current init's pty is read all the
// time (so the container never blocks on a full console) into `log`, and
// relayed to the attached client; the monitor keeps the peer open too so
// that the console survives an init that closes its stdio.
//
// The wire (SOCK_SEQPACKET, one message per packet, first byte its type):
// to the client 'k' (attached) or 'e'+reason (refused) first, then
// 'o'+output, and 'x'+reason when the console goes away; from the client
// 'i'+input and 'w'+rows,cols (two uint16 in host order).
class ConsoleServer {
 public:
  using Sink = std::function<void(std::string_view)>;
  ConsoleServer(std::string name, Sink log) : name_(std::move(name)), log_(std::move(log)) {}
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  Result<void> listen(const std::string& path);
  // The pty master of a newly created init (a reboot gives a new one); an
  // attached client stays attached across it.
  void set_master(UniqueFd master);
  // The init is gone: reads what is left on its console and drops the pty.
  void drop_master();
  // Appends what to poll to pfds; handle() then reads their revents.
  void add_pollfds(std::vector<struct pollfd>& pfds);
  void handle(const std::vector<struct pollfd>& pfds);
  // Tells an attached client why the console closes, and removes the socket.
  void close(const std::string& reason);

 private:
  void read_master();
  void accept_clients();
  void read_client();
  void flush_client();
  void flush_input();
  void send_client(char type, std::string_view data);
  void detach_client();

  std::string name_;
  Sink log_;
  std::string path_;
  UniqueFd listen_, master_, peer_, client_;
  std::deque<std::string> to_client_;
  size_t to_client_bytes_ = 0;
  std::string to_master_;
  std::string tail_;  // the last output, for a client that attaches
  std::optional<std::pair<unsigned short, unsigned short>> winsize_;
  pid_t client_pid_ = 0;
  size_t first_ = 0;  // index of our first pollfd
  int added_ = 0;
  bool pending_cr_ = false;  // a '\r' held back from the log (CRLF -> LF)
};

// The init's pid; else `container "NAME" is not running` (or `no container
// "NAME" is declared` when berth knows no such name).
Result<pid_t> running_init(const decl::Paths& paths, const std::string& name);

// `berth login NAME`: attaches the caller's terminal to the console (raw
// mode, window size passed on) until ^]^]^] (or, when stdin is not a
// terminal, until stdin ends and the console has been quiet for a second).
// Returns the exit code for the CLI.
Result<int> login(const decl::Paths& paths, const std::string& name);

}  // namespace berth::manager
