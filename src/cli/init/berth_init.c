/* berth-init: the stub PID 1 of a command container (as catatonit and tini).
 *
 *   berth-init [-e EXE] -- COMMAND [ARG...]
 *
 * Forks; the child runs COMMAND (EXE when given, the path the engine resolved
 * in the container; else COMMAND looked up in PATH) with default signal
 * dispositions. The stub forwards every signal it can catch (SIGTERM, SIGINT,
 * SIGHUP, SIGQUIT, SIGUSR1/2, SIGWINCH, the real-time ones...) to the command:
 * the command is not a namespace's init, so a signal it has no handler for
 * gets its default action (`sleep` dies on SIGTERM). It reaps every orphan
 * reparented to it, and exits as the command did: its status, or 128+N when a
 * signal N killed it. A command that cannot be exec'd ends with 127 and a line
 * on stderr.
 *
 * Plain C and libc only, linked statically: it runs inside the container,
 * which may have no libc at all. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Faults are delivered to the faulting thread; blocking them would not stop
 * them (and the stub never faults). */
static int synchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP ||
         sig == SIGSYS || sig == SIGABRT;
}

static int usage(void) {
  fprintf(stderr, "usage: berth-init [-e EXE] -- COMMAND [ARG...]\n");
  return 2;
}

int main(int argc, char** argv) {
  const char* exe = NULL;
  int i = 1;
  if (i + 1 < argc && strcmp(argv[i], "-e") == 0) {
    exe = argv[i + 1];
    i += 2;
  }
  if (i >= argc || strcmp(argv[i], "--") != 0 || i + 1 >= argc) return usage();
  char** cmd = argv + i + 1;
  if (!exe) exe = cmd[0];

  sigset_t all, old;
  sigfillset(&all);
  for (int s = 1; s < NSIG; s++)
    if (synchronous(s)) sigdelset(&all, s);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* Outside a pid namespace of its own, orphans still come here. */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  pid_t child = fork();
  if (child < 0) {
    fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
    return 126;
  }
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strchr(exe, '/'))
      execv(exe, cmd);
    else
      execvp(exe, cmd);
    fprintf(stderr, "berth-init: exec %s: %s\n", exe, strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }

  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      /* SIGSTOP-like job control signals cannot stop a namespace's init
       * anyway; the command gets them as they came. */
      kill(child, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != child) continue; /* an orphan: reaped, nothing more */
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return 1;
    }
  }
}
