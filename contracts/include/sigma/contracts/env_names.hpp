// The environment variables by which one sigma process tells another something. Every reader and writer uses
// these names; scripts see the same list in `sigma-config contracts`.
#pragma once

namespace sigma::env {

// Set by the SPANK plugin in every task of a job whose node ran a preflight.
inline constexpr const char* kPreflightLevel = "SIGMA_PREFLIGHT_LEVEL";      // off, quick, standard, extended
inline constexpr const char* kPreflightVerdict = "SIGMA_PREFLIGHT_VERDICT";  // a PrologVerdict name
inline constexpr const char* kRestartCount = "SIGMA_RESTART_COUNT";          // times Slurm requeued the job
inline constexpr const char* kMaxRequeues = "SIGMA_MAX_REQUEUES";            // the job's requeue cap
inline constexpr const char* kSiteConfig = "SIGMA_SITE_CONFIG";              // the site config the plugin read
// Set by the plugin and by `sigma-launch supervise` for the programs they start.
inline constexpr const char* kLedger = "SIGMA_LEDGER";                       // the event ledger's path
inline constexpr const char* kHeartbeatDir = "SIGMA_HEARTBEAT_DIR";          // where ranks beat (heartbeat.hpp)
inline constexpr const char* kHeartbeatAttempt = "SIGMA_HEARTBEAT_ATTEMPT";  // the supervisor's attempt number
inline constexpr const char* kLivenessPort = "SIGMA_LIVENESS_PORT";    // liveness datagrams (liveness_datagram.hpp)
inline constexpr const char* kLivenessToken = "SIGMA_LIVENESS_TOKEN";  // the secret every datagram carries
// Set by an admin or a test: the node name to report, over Slurm's and the host's (node_name.hpp).
inline constexpr const char* kNodeName = "SIGMA_NODE_NAME";

// Slurm's own, read by several parts.
inline constexpr const char* kSlurmNodeName = "SLURMD_NODENAME";
inline constexpr const char* kSlurmJobId = "SLURM_JOB_ID";
inline constexpr const char* kSlurmStepId = "SLURM_STEP_ID";
inline constexpr const char* kSlurmLaunchNodeAddress = "SLURM_LAUNCH_NODE_IPADDR";  // srun's node, for each task

}  // namespace sigma::env
