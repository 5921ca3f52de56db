# Shared by the set-up scripts: installs the Debian packages cadmm needs (only those missing) and builds. The HDF5
# filter plugins (LZF, Blosc, LZ4, BZip2) let cadmm read files that h5py and hdf5plugin compress; the Python and R
# packages write the test suite's references and files as users' libraries write them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${CADMM_BUILD_DIR:-$ROOT/build}"
SANITIZE_BUILD="${CADMM_SANITIZE_BUILD_DIR:-$ROOT/build-sanitize}"
PACKAGES=(build-essential cmake libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libeigen3-dev
          libboost-program-options-dev libgtest-dev libopenblas-dev zlib1g-dev libbz2-dev python3-numpy python3-scipy python3-h5py
          python3-sklearn python3-matplotlib r-cran-hdf5r slurm-wlm munge lmod clang libclang-rt-14-dev
          hdf5-plugin-lzf liblzf1 hdf5-filter-plugin hdf5-filter-plugin-blosc-serial python3-hdf5plugin python3-anndata
          python3-pandas python3-tables)

install_dependencies() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

build() {
  echo "== building in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD" -j "$(nproc)"
}

# The second build of the test suite: clang with AddressSanitizer and UndefinedBehaviorSanitizer, plus the
# libFuzzer targets (tests/fuzz).
build_sanitized() {
  echo "== building with sanitizers and fuzz targets in $SANITIZE_BUILD"
  cmake -S "$ROOT" -B "$SANITIZE_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
    -DCMAKE_CXX_COMPILER=clang++ -DCADMM_FUZZ=ON
  cmake --build "$SANITIZE_BUILD" -j "$(nproc)"
}

# Open MPI refuses to run as root unless told; containers and CI machines often are root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
