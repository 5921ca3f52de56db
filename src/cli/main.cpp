// cadmm: thin driver. Starts MPI, sizes the BLAS thread pool, dispatches to a command, and turns a
// collective cadmm::Error into the same exit code on every rank.
#include <malloc.h>
#include <unistd.h>
#include <mpi.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cadmm/error.hpp"
#include "cadmm/mpi_communicator.hpp"
#include "cadmm/version.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/report.hpp"
#include "core/lapack.hpp"
#include "io/hdf5_util.hpp"

namespace {

const char* kUsage =
    "Usage: cadmm COMMAND [options]        (or: mpirun -np P cadmm COMMAND [options])\n\n"
    "Distributed regularized least squares (lasso, ridge, elastic net, multi-task and group lasso) by consensus ADMM.\n\n"
    "Commands:\n"
    "  solve      fit one lambda\n"
    "  path       fit a decreasing lambda sequence with warm starts\n"
    "  cv         K-fold cross-validation over the path, then a refit at the chosen lambda\n"
    "  predict    apply a fitted model to data; MSE and R^2 when y is present\n"
    "  generate   write a synthetic data set with known truth (dense or sparse)\n"
    "  convert    LIBSVM/SVMlight or CSV text to HDF5\n"
    "  info       describe a data set and the per-rank plan\n"
    "  plot       plot a cv or path result (PNG, SVG or PDF; glmnet's plot(cvfit) and plot(fit))\n\n"
    "Run 'cadmm COMMAND --help' for the options of a command; 'cadmm --version' for the version.\n"
    "Exit codes: 0 finished, 1 failure while running, 2 usage error, 3 bad input data.\n";

// Each rank gets its share of the node's cores, and no more than the cores it may run on (mpirun binds ranks
// to cores by default, Slurm confines jobs to cpusets), unless the user set a BLAS thread count.
void size_blas_threads(const cadmm::MpiCommunicator& comm) {
  if (std::getenv("OPENBLAS_NUM_THREADS") || std::getenv("OMP_NUM_THREADS")) return;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  int allowed = cores;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) allowed = CPU_COUNT(&set);
  const int share = cores / std::max(1, comm.ranks_on_node());
  cadmm::lapack::set_threads(std::max(1, std::min(allowed, share)));
}

int dispatch(int argc, char** argv, cadmm::MpiCommunicator& comm) {
  const bool root = comm.rank() == 0;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    if (root) std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    if (root) std::printf("cadmm %s\n%s\n", cadmm::version(), cadmm::build_description().c_str());
    return 0;
  }
  const std::string command = argv[1];
  const cadmm::cli::Args args(argv + 2, argv + argc);
  if (command == "solve") return cadmm::cli::run_solve(args, comm);
  if (command == "generate") return cadmm::cli::run_generate(args, comm);
  if (command == "info") return cadmm::cli::run_info(args, comm);
  if (command == "path") return cadmm::cli::run_path(args, comm);
  if (command == "cv") return cadmm::cli::run_cv(args, comm);
  if (command == "predict") return cadmm::cli::run_predict(args, comm);
  if (command == "convert") return cadmm::cli::run_convert(args, comm);
  const std::string hint = cadmm::cli::command_suggestion(command);
  throw cadmm::UsageError("unknown command '" + command + "'" + (hint.empty() ? "" : ": " + hint) + " (see cadmm --help)");
}

// Transport for one node. When every rank of the job runs on this node (Open MPI tells each rank so in its
// environment), shared memory serves all traffic and Open MPI's default UCX PML only adds its network probing to
// the start-up: about 0.2 s of `mpirun -np 2 cadmm` here (0.37 s -> 0.18 s). Then ask for the ob1 PML (shared
// memory through its vader BTL); across nodes, or when the user chose a PML, Open MPI's own choice stands.
void prefer_shared_memory_on_one_node() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (size && local && std::strcmp(size, local) == 0) setenv("OMPI_MCA_pml", "ob1", 0);
}

// Freed memory stays in the process for the next allocation. glibc maps every block over 32 MiB (less before its
// threshold adapts) on its own and unmaps it on free, and trims the heap's top past 128 KiB: each such
// allocation then comes back as fresh pages, zeroed by the kernel one page fault at a time. A path or cv makes such
// blocks at every lambda (the active set's Hessian block, its factor): on W1 (20,000 x 4,000, 2 ranks) the
// faults were 33 s of system time in a 52 s `path`, against 11.5 s with every block from a heap kept whole. The
// resident peak stays the live data's peak plus what fragments (W1: 458 MiB against 394 MiB).
void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

// The rank a launcher gave this process (Open MPI's mpirun, PMIx, MPICH's Hydra, srun), read before MPI_Init; 0 when
// none did.
int launched_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) return std::atoi(v);
  return 0;
}

// `cadmm plot ...` is the matplotlib script cadmm-plot beside this binary (serial, no MPI): exec it in place. Under
// mpirun or srun (a job script runs every command so) rank 0 alone plots: every rank writing the one output file
// raced on its temporary name.
int run_plot(int argc, char** argv) {
  if (launched_rank() != 0) return 0;
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string script = "cadmm-plot";
  if (n > 0) {
    const std::string exe(self, static_cast<std::size_t>(n));
    script = exe.substr(0, exe.rfind('/') + 1) + script;
  }
  std::vector<char*> args{script.data()};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(script.c_str(), args.data());
  std::fprintf(stderr, "cadmm: error: plot: cannot run %s (%s); it is installed beside cadmm and needs /usr/bin/python3 "
               "with matplotlib and h5py (Debian: python3-matplotlib python3-h5py)\n", script.c_str(), std::strerror(errno));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "plot")) return run_plot(argc, argv);
  keep_freed_memory();
  prefer_shared_memory_on_one_node();
  MPI_Init(&argc, &argv);
  int code = 0;
  {
    cadmm::MpiCommunicator comm(MPI_COMM_WORLD);
    size_blas_threads(comm);
    cadmm::lapack::agree_on_products(comm);
    cadmm::cli::install_interrupt_handlers(comm.rank());
    try {
      code = dispatch(argc, argv, comm);
    } catch (const cadmm::Error& e) {
      // Errors reaching here are collective (same on every rank) or come from option parsing, which every
      // rank does identically: print once, exit with the same code everywhere.
      if (comm.rank() == 0) std::fprintf(stderr, "cadmm: error: %s\n", e.what());
      code = static_cast<int>(e.code());
    } catch (const std::exception& e) {
      // Not agreed among ranks: others may wait in a collective, so abort the whole job.
      std::fprintf(stderr, "cadmm: internal error on rank %d: %s\n", comm.rank(), e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  if (cadmm::io::hdf5_abandoned()) {
    // HDF5 holds a file it could not close; its clean-up in MPI_Finalize and at exit would crash or hang on it.
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(code);
  }
  MPI_Finalize();
  return code;
}
