// The default taxonomy over real log lines from accelerators, NCCL, MPI, Slurm and the kernel.
#include <gtest/gtest.h>

#include <csignal>

#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/policy/taxonomy.hpp"

using namespace sigma;

namespace {

struct Case {
  int exit_code;
  int signal;
  const char* log;
  const char* rule;
  FailureClass failure_class;
  FailureAction action;
};

const Case kCases[] = {
    {1, 0, "[  123.456] NVRM: Xid (PCI:0000:3b:00): 79, pid=2931, GPU has fallen off the bus.", "nvidia-xid-hardware",
     FailureClass::hardware, FailureAction::drain_requeue},
    {1, 0, "NVRM: Xid (PCI:0000:b1:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error",
     "nvidia-xid-hardware", FailureClass::hardware, FailureAction::drain_requeue},
    {1, 0, "RuntimeError: CUDA error: uncorrectable ECC error encountered", "ecc-uncorrectable",
     FailureClass::hardware, FailureAction::drain_requeue},
    {1, 0, "amdgpu 0000:0c:00.0: amdgpu: Fence fallback timer expired on ring sdma0", "amdgpu-hang",
     FailureClass::hardware, FailureAction::drain_requeue},
    {1, 0, "mce: [Hardware Error]: Machine check events logged", "machine-check", FailureClass::hardware,
     FailureAction::drain_requeue},
    {1, 0, "mlx5_core 0000:4b:00.0: mlx5_port_module_event: Port 1 link down", "ib-port-down",
     FailureClass::hardware, FailureAction::drain_requeue},
    {1, 0, "srun: error: Node failure on n3", "slurm-node-failure", FailureClass::hardware,
     FailureAction::drain_requeue},
    {1, 0,
     "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.15 GiB total capacity)",
     "gpu-out-of-memory", FailureClass::user, FailureAction::fail},
    {137, 0, "[ 8812.01] Out of memory: Killed process 4242 (python) total-vm:...", "host-oom-killer",
     FailureClass::user, FailureAction::fail},
    {1, 0, "slurmstepd: error: Detected 1 oom_kill event in StepId=17.0. Some of the step tasks have been OOM Killed.",
     "host-oom-killer", FailureClass::user, FailureAction::fail},
    {1, 0, "Memory access fault by GPU node-2 (Agent handle: 0x55d) on address 0x7f. Reason: Page not present",
     "gpu-memory-access-fault", FailureClass::user, FailureAction::fail},
    {1, 0, "FileNotFoundError: [Errno 2] No such file or directory: '/data/tokens.bin'", "file-not-found",
     FailureClass::user, FailureAction::fail},
    {1, 0, "terminate called after throwing an instance of 'YAML::ParserException'", "yaml-error", FailureClass::user,
     FailureAction::fail},
    {1, 0,
     "[Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1, OpType=ALLREDUCE) ran for 600000 ms",
     "nccl-timeout", FailureClass::platform, FailureAction::restart},
    {1, 0, "node7:1234:5678 [0] NCCL WARN NET/Socket : Connection closed by remote peer", "nccl-system-error",
     FailureClass::transient, FailureAction::restart},
    {1, 0, "[n2:04217] mca_btl_tcp: Connection reset by peer (104)", "network-transient", FailureClass::transient,
     FailureAction::restart},
    {15, 0, "slurmstepd: error: *** JOB 51 ON n1 CANCELLED AT 2026-11-25T04:00:00 DUE TO TIME LIMIT ***",
     "slurm-time-limit", FailureClass::transient, FailureAction::requeue},
    {1, 0, "MPI_ABORT was invoked on rank 0 in communicator MPI_COMM_WORLD with errorcode 1.", "mpi-abort",
     FailureClass::user, FailureAction::fail},
    {135, 0, "/var/spool/slurmd/job00017/slurm_script: line 12: 4242 Bus error   (core dumped) ./train",
     "bus-error", FailureClass::unknown, FailureAction::requeue},
    {139, 0, "line 4: 99 Segmentation fault      (core dumped) ./a.out", "segfault", FailureClass::user,
     FailureAction::fail},
    // sigma's own exit codes win over what the log says.
    {10, 0, "sigma-healthcheck: gemm sdc 3/4096 (No such file or directory noise)", "sigma-node-hardware",
     FailureClass::hardware, FailureAction::drain_requeue},
    {42, 0, "saved checkpoint at step 1200 on SIGTERM", "sigma-requeue", FailureClass::transient,
     FailureAction::requeue},
    {11, 0, "sigma-train: loss is NaN at step 17 on rank 2", "sigma-numerical", FailureClass::user,
     FailureAction::fail},
    {3, 0, "", "sigma-usage", FailureClass::user, FailureAction::fail},
    // A full filesystem is nobody's hardware: stop once, whether sigma exited config or a program crashed on it.
    {3, 0,
     "sigma-train: checkpoint filesystem full: the save of step 8 failed, the committed steps are kept: "
     "ckpt/.tmp_step_00000008/shard_r00001.h5: write failed: No space left on device",
     "filesystem-full", FailureClass::user, FailureAction::fail},
    {0, SIGSEGV, "OSError: [Errno 122] Disk quota exceeded: '/scratch/run/ckpt'", "filesystem-full",
     FailureClass::user, FailureAction::fail},
    // Signals without evidence in the log.
    {0, SIGKILL, "", "killed-sigkill", FailureClass::unknown, FailureAction::requeue},
    {0, SIGSEGV, "", "killed-crash", FailureClass::user, FailureAction::fail},
    // Nothing known: stop for a human, never loop.
    {1, 0, "something nobody has seen before", "unclassified", FailureClass::unknown, FailureAction::fail},
};

}  // namespace

TEST(Taxonomy, DefaultRulesClassifyRealLogLines) {
  Taxonomy taxonomy(default_taxonomy_rules());
  for (const auto& c : kCases) {
    Verdict v = taxonomy.classify({c.exit_code, c.signal, std::string("step started\n") + c.log + "\nstep ended\n"});
    EXPECT_EQ(v.rule, c.rule) << c.log;
    EXPECT_EQ(v.failure_class, c.failure_class) << c.log;
    EXPECT_EQ(v.action, c.action) << c.log;
  }
}

TEST(Taxonomy, EvidenceIsTheMatchingLine) {
  Taxonomy taxonomy(default_taxonomy_rules());
  Verdict v = taxonomy.classify({1, 0, "ok\n   NVRM: Xid (PCI:0000:3b:00): 79, pid=1, fallen off the bus  \nbye\n"});
  EXPECT_EQ(v.evidence, "NVRM: Xid (PCI:0000:3b:00): 79, pid=1, fallen off the bus");
  EXPECT_EQ(v.fault_code, "xid");
}

// A rule that trusts sigma's exit code carries the program's own one-line reason (the last one, not a warning)
// as evidence, e.g. a checkpoint directory on a read-only filesystem.
TEST(Taxonomy, ExitCodeRulesTakeTheLastSigmaErrorLineAsEvidence) {
  Taxonomy taxonomy(default_taxonomy_rules());
  const std::string reason =
      "sigma-train: checkpoint: the save of step 4 failed, the committed steps are kept: ckpt/.tmp_step_00000004: "
      "cannot create checkpoint directory: filesystem error: cannot create directory: Read-only file system";
  Verdict v = taxonomy.classify({3, 0, "sigma-ckpt: rejected ckpt/step_2: checksum mismatch\n  " + reason +
                                           "  \nsigma-train: warning: heartbeat not written\n"
                                           "srun: error: n1: task 0: Exited with exit code 3\n"});
  EXPECT_EQ(v.rule, "sigma-usage");
  EXPECT_EQ(v.evidence, reason.substr(0, 200));
  EXPECT_EQ(taxonomy.classify({3, 0, "usage: something\nsrun: error: n1: task 0: Exited with exit code 3\n"}).evidence,
            "");
  EXPECT_EQ(taxonomy.classify({0, SIGKILL, reason}).evidence, "");  // a signal is not explained by the last words
}

TEST(Taxonomy, CleanExitIsNotClassifiedByCatchAll) {
  Taxonomy taxonomy(default_taxonomy_rules());
  Verdict v = taxonomy.classify({0, 0, "all good\n"});
  EXPECT_EQ(v.rule, "");
}

TEST(Taxonomy, SiteRulesComeFirst) {
  SiteConfig config = parse_site_config(R"(cluster: {name: c}
taxonomy:
  rules:
    - {name: site-xid-13, pattern: 'Xid .*: 13,', class: user, action: fail, fault_code: xid13}
    - {name: site-exit-7, exit_codes: [7], signals: [SIGTERM], class: platform, action: restart}
)",
                                        "site.yaml");
  Taxonomy taxonomy(config.taxonomy);
  EXPECT_EQ(taxonomy.classify({1, 0, "NVRM: Xid (PCI:0000:3b:00): 13, Graphics Exception"}).rule, "site-xid-13");
  EXPECT_EQ(taxonomy.classify({7, SIGTERM, ""}).rule, "site-exit-7");
  EXPECT_EQ(taxonomy.classify({7, 0, ""}).rule, "unclassified");  // both criteria must match
}

TEST(Taxonomy, RulesCanOmitDefaults) {
  SiteConfig config = parse_site_config(
      "cluster: {name: c}\ntaxonomy: {include_defaults: false, rules: [{name: only, exit_codes: [1], class: user, "
      "action: fail}]}\n",
      "site.yaml");
  ASSERT_EQ(config.taxonomy.size(), 1u);
  EXPECT_EQ(Taxonomy(config.taxonomy).classify({2, 0, ""}).rule, "");
}

TEST(Taxonomy, NamesRoundTrip) {
  for (auto c : {FailureClass::hardware, FailureClass::user, FailureClass::platform, FailureClass::transient,
                 FailureClass::unknown}) {
    EXPECT_EQ(failure_class_from(to_string(c)), c);
  }
  for (auto a : {FailureAction::drain_requeue, FailureAction::restart, FailureAction::requeue, FailureAction::fail}) {
    EXPECT_EQ(failure_action_from(to_string(a)), a);
  }
  EXPECT_FALSE(failure_class_from("cosmic").has_value());
}

// std::regex recursed per character and overflowed the stack on a 100 KB line; RE2 is linear in the line.
TEST(TaxonomyInput, AHundredKilobyteLineIsClassifiedWithoutCrashing) {
  Taxonomy taxonomy(default_taxonomy_rules());
  const std::string line = std::string(100 * 1024, 'a') + " Segmentation fault";
  EXPECT_EQ(taxonomy.classify({1, 0, line}).rule, "unclassified");  // the match lies beyond kMaxLogLineBytes
  const std::string near = std::string(60 * 1024, 'a') + " Segmentation fault\n" + std::string(200 * 1024, 'b');
  EXPECT_EQ(taxonomy.classify({1, 0, near}).rule, "segfault");
}

// A nested quantifier that backtracking engines take exponential time on finishes at once.
TEST(TaxonomyInput, NestedQuantifiersCannotHangAClassification) {
  Taxonomy taxonomy({TaxonomyRule{"nested", {}, {}, "(a+)+$", FailureClass::user, FailureAction::fail, "n"}});
  EXPECT_EQ(taxonomy.classify({1, 0, std::string(30, 'a') + "!"}).rule, "");  // no rule matched
  EXPECT_EQ(taxonomy.classify({1, 0, std::string(30, 'a')}).rule, "nested");
}

// What RE2 cannot match in linear time (backreferences, lookaround) is refused when the config is loaded.
TEST(TaxonomyInput, BackreferencesAreRefusedAtLoad) {
  EXPECT_NE(log_pattern_error("(a)\\1"), "");
  EXPECT_NE(log_pattern_error("a(?=b)"), "");
  EXPECT_EQ(log_pattern_error("(a+)+$"), "");
  EXPECT_THROW(parse_site_config("cluster: {name: c}\ntaxonomy:\n  rules:\n    - {name: r, pattern: '(x)\\1', "
                                 "class: user, action: fail}\n", "t.yaml"),
               Error);
}
