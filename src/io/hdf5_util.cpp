#include "io/hdf5_util.hpp"

#include <dlfcn.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>
#include <sstream>

#include "cadmm/communicator.hpp"
#include "cadmm/error.hpp"
#include "cadmm/mpi_communicator.hpp"

namespace cadmm::io {

void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle file_access() {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // Parallel file systems often have no flock(); HDF5 would then refuse to open any file.
  H5Pset_file_locking(fapl.get(), 1, 1);
  return fapl;
}

namespace {

// What a file that is not HDF5 looks like, from its first 4 KiB: LIBSVM text (its first line's second field is
// INDEX:VALUE) or CSV text (commas), with the command that converts it; "" for anything else.
std::string text_kind(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "";
  char buf[4096];
  const std::size_t got = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  if (got == 0) return "";
  for (std::size_t i = 0; i < got; ++i) {
    const unsigned char c = static_cast<unsigned char>(buf[i]);
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return "";  // binary
  }
  const std::string text(buf, got), first = text.substr(0, text.find('\n'));
  std::istringstream fields(first);
  std::string label, second;
  fields >> label >> second;
  const std::size_t colon = second.find(':');
  const bool libsvm = colon != std::string::npos && colon > 0 &&
                      second.find_first_not_of("0123456789") == colon;
  std::string h5 = std::filesystem::path(path).replace_extension(".h5").string();
  if (h5 == path) h5 = path + ".converted.h5";
  if (libsvm) return "it looks like LIBSVM text: convert it first, cadmm convert --input " + path + " --format libsvm --output " + h5;
  if (text.find(',') != std::string::npos)
    return "it looks like CSV text: convert it first, cadmm convert --input " + path + " --format csv --output " + h5 +
           " (--header if its first line names the columns)";
  return "";
}

// Debian packages its HDF5 filter plugins (LZF, Blosc, LZ4, BZip2, ZFP) in the serial flavour's plugin directory
// only (LZF in every flavour's), while a parallel HDF5 searches its own (.../hdf5/openmpi/plugins). A serial-flavour
// plugin links the serial libhdf5, which the loader then maps beside the parallel one: for decoding, all cadmm asks of
// them, a filter only transforms bytes (its error messages would go to the other library's error stack), and
// cli_inputs checks every packaged filter's answer bit for bit against the uncompressed file's. The directory is
// searched after HDF5's own path (or after HDF5_PLUGIN_PATH, when set).
void find_filter_plugins() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Debian's LZF plugin (hdf5-plugin-lzf) calls liblzf's lzf_decompress without being linked to liblzf: unless the
    // library is already loaded globally, the plugin fails to load ("undefined symbol: lzf_decompress") and every
    // LZF chunk that was compressed reads as a missing filter. Absent liblzf, LZF data is reported as such.
    dlopen("liblzf.so.1", RTLD_NOW | RTLD_GLOBAL);
    std::vector<std::string> dirs;
    char buf[4096];
    for (unsigned i = 0, n = 0; H5PLsize(&n) >= 0 && i < n; ++i)
      if (H5PLget(i, buf, sizeof buf) > 0) dirs.emplace_back(buf);
    std::vector<std::string> add;
    for (const std::string& dir : dirs) {
      const std::size_t at = dir.rfind("/hdf5/");
      if (at == std::string::npos) continue;
      const std::string serial = dir.substr(0, at) + "/hdf5/serial/plugins";
      std::error_code ec;
      if (std::find(dirs.begin(), dirs.end(), serial) == dirs.end() &&
          std::find(add.begin(), add.end(), serial) == add.end() && std::filesystem::is_directory(serial, ec))
        add.push_back(serial);
    }
    for (const std::string& dir : add) H5PLappend(dir.c_str());
  });
}

struct KnownFilter {
  H5Z_filter_t id;
  const char* name;
  const char* package;  // the Debian 12 package that provides it, "" if none does
};
// The registered filters users meet (https://portal.hdfgroup.org/display/support/Registered+Filter+Plugins).
constexpr KnownFilter kKnownFilters[] = {
    {307, "BZip2", "hdf5-filter-plugin"},         {32000, "LZF", "hdf5-plugin-lzf"},
    {32001, "Blosc", "hdf5-filter-plugin-blosc-serial"}, {32004, "LZ4", "hdf5-filter-plugin"},
    {32008, "Bitshuffle", ""},                     {32013, "ZFP", "hdf5-filter-plugin-zfp-serial"},
    {32015, "Zstandard", ""},                      {32017, "SZ", ""},
    {32018, "FCIDECOMP", ""},                      {32026, "Blosc2", ""}};

}  // namespace

void check_filters(hid_t dataset, const std::string& what) {
  Handle dcpl(H5Dget_create_plist(dataset), H5Pclose);
  if (!dcpl.valid() || H5Pget_nfilters(dcpl.get()) <= 0) return;
  // Decoding the first element says whether the pipeline's filters load (H5Zfilter_avail does not: it answers no
  // for Debian's LZF plugin, which decodes).
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || H5Sget_simple_extent_npoints(space.get()) <= 0) return;
  const std::vector<hsize_t> start(static_cast<std::size_t>(rank), 0), count(static_cast<std::size_t>(rank), 1);
  const hsize_t one = 1;
  Handle mem(H5Screate_simple(1, &one, nullptr), H5Sclose);
  // In the element's own (native) type: strings and compounds decode too, and only the filter can fail.
  Handle stored(H5Dget_type(dataset), H5Tclose);
  Handle native(H5Tget_native_type(stored.get(), H5T_DIR_ASCEND), H5Tclose);
  if (!native.valid()) return;  // a type with no native form: the read that follows reports it
  std::vector<unsigned char> value(std::max<std::size_t>(H5Tget_size(native.get()), 1), 0);
  if (rank > 0) H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  const hid_t file_space = rank > 0 ? space.get() : H5S_ALL, memory_space = rank > 0 ? mem.get() : H5S_ALL;
  if (H5Dread(dataset, native.get(), memory_space, file_space, H5P_DEFAULT, value.data()) >= 0) {
    H5Dvlen_reclaim(native.get(), rank > 0 ? mem.get() : space.get(), H5P_DEFAULT, value.data());
    return;
  }
  std::string filters, advice;
  const int n = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    std::size_t nvalues = 0;
    char stored[256] = "";
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvalues, nullptr,
                                           sizeof stored, stored, &config);
    if (id < H5Z_FILTER_RESERVED) continue;  // HDF5's own (deflate, shuffle, ...) are always there
    const KnownFilter* known = nullptr;
    for (const KnownFilter& k : kKnownFilters)
      if (k.id == id) known = &k;
    const std::string name = known ? known->name : *stored ? stored : "unnamed";
    filters += (filters.empty() ? "" : ", ") + std::to_string(id) + " (" + name + ")";
    if (known && *known->package)
      advice += (advice.empty() ? "" : "; ") + std::string("install Debian's ") + known->package + " for " + name;
    else
      advice += (advice.empty() ? "" : "; ") + name + ": no Debian package provides it, put its plugin in a "
                "directory named by HDF5_PLUGIN_PATH";
  }
  if (filters.empty()) return;  // not a filter's doing: the read that follows reports it
  throw DataError(what + " cannot be decoded: it is compressed with HDF5 filter " + filters + ", which this HDF5 "
                  "cannot load (" + advice + "; the set-up scripts install the packaged ones), or rewrite the file "
                  "without it: h5repack -f GZIP=4 IN OUT");
}

Handle open_file_read(const std::string& path, MPI_Comm comm, const std::string& what) {
  silence_hdf5();
  find_filter_plugins();
  const auto check = [&] {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw DataError(what + " '" + path + "' does not exist");
    if (std::filesystem::is_directory(path, ec)) throw DataError(what + " '" + path + "' is a directory");
    if (H5Fis_hdf5(path.c_str()) <= 0) {
      const std::string kind = text_kind(path);
      throw DataError(what + " '" + path + "' is not a readable HDF5 file" + (kind.empty() ? "" : ": " + kind));
    }
  };
  // The MPI-IO open below is collective: a file that some nodes cannot see (a node-local path) must fail on
  // every rank before anyone enters it.
  if (comm != MPI_COMM_NULL) {
    MpiCommunicator mc(comm);
    collectively(mc, check);
  } else {
    check();
  }
  Handle fapl = file_access();
  if (comm != MPI_COMM_NULL) H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL);
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!f.valid()) throw DataError("cannot open " + what + " '" + path + "' as HDF5 (truncated or damaged?)");
  return f;
}

std::string contents(hid_t file, std::size_t most) {
  struct Found {
    std::vector<std::string> names;
    std::size_t total = 0;
  } found;
  const auto visit = [](hid_t, const char* name, const H5O_info_t* info, void* data) noexcept -> herr_t {
    auto* f = static_cast<Found*>(data);
    if (info->type != H5O_TYPE_DATASET) return 0;
    try {  // nothing may throw through HDF5's C frames
      ++f->total;
      f->names.push_back(std::string("/") + name);
    } catch (...) {
      return -1;
    }
    return 0;
  };
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &found, H5O_INFO_BASIC) < 0 || found.names.empty()) return "";
  std::string text;
  for (std::size_t i = 0; i < found.names.size() && i < most; ++i) text += (i ? ", " : "") + found.names[i];
  if (found.total > most) text += " and " + std::to_string(found.total - most) + " more";
  return text;
}

bool object_exists(hid_t file, const std::string& path) {
  if (path.empty() || path == "/") return true;
  // H5Lexists needs every intermediate link to exist, so check the path one component at a time.
  for (std::size_t next = path.find('/', 1);; next = path.find('/', next + 1)) {
    const std::string prefix = path.substr(0, next);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) break;
  }
  return H5Oexists_by_name(file, path.c_str(), H5P_DEFAULT) > 0;
}

std::vector<std::int64_t> dataset_shape(hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<std::int64_t>(dims.begin(), dims.end());
}

std::string read_string_attribute(hid_t object, const std::string& name) {
  if (H5Aexists(object, name.c_str()) <= 0) return {};
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) return {};
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));  // HDF5 will not convert between ASCII and UTF-8
    char* s = nullptr;
    if (H5Aread(attr.get(), mem.get(), &s) < 0 || !s) return {};
    std::string out(s);
    H5free_memory(s);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) return {};
  out.resize(out.find('\0') == std::string::npos ? out.size() : out.find('\0'));
  return out;
}

bool read_number_attribute(hid_t object, const std::string& name, double& out) {
  if (H5Aexists(object, name.c_str()) <= 0) return false;
  Handle attr(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) return false;
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (H5Sget_simple_extent_npoints(space.get()) != 1) return false;
  return H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &out) >= 0;
}

std::vector<double> read_doubles(hid_t file, const std::string& name, std::vector<std::int64_t>& shape,
                                 const std::string& what, const std::string& path) {
  if (!object_exists(file, name)) throw DataError(what + " '" + path + "' lacks " + name);
  if (is_categorical(file, name))
    throw DataError(what + " '" + path + "': " + name + " is a categorical column (pandas category: codes into " +
                    "labels), not numbers; its codes, " + name + "/codes, number the labels 0, 1, ... (feature " +
                    "groups), or write the numbers themselves");
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError(what + " '" + path + "': " + name + " is not a dataset");
  check_filters(ds.get(), what + " '" + path + "': dataset " + name);
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw DataError(what + " '" + path + "': " + name + " is not numeric");
  shape = dataset_shape(ds.get());
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;
  std::vector<double> out(static_cast<std::size_t>(n));
  if (n > 0 && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
    throw DataError("cannot read " + name + " of " + what + " '" + path + "'");
  return out;
}

bool is_categorical(hid_t file, const std::string& name) {
  if (!object_exists(file, name)) return false;
  Handle group(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose);
  return group.valid() && H5Iget_type(group.get()) == H5I_GROUP &&
         read_string_attribute(group.get(), "encoding-type") == "categorical" && object_exists(file, name + "/codes");
}

std::vector<std::string> read_strings(hid_t file, const std::string& name, const std::string& what) {
  if (!object_exists(file, name)) throw DataError(what + " does not exist");
  // AnnData keeps a text column of repeated values (gene symbols) as a categorical group: codes into categories.
  if (is_categorical(file, name)) {
    const std::vector<std::string> categories = read_strings(file, name + "/categories", what + " (categories)");
    std::vector<std::int64_t> shape;
    const std::vector<double> codes = read_doubles(file, name + "/codes", shape, "categorical column", name);
    if (shape.size() != 1) throw DataError(what + " is a categorical column whose codes are not 1-D");
    std::vector<std::string> out;
    for (double c : codes) {
      if (!(c >= 0 && c < static_cast<double>(categories.size()) && c == std::floor(c)))
        throw DataError(what + " is a categorical column with a missing value (code " + std::to_string(c) +
                        ") at position " + std::to_string(out.size()) + " (0-based)");
      out.push_back(categories[static_cast<std::size_t>(c)]);
    }
    return out;
  }
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError(what + " is not a dataset");
  check_filters(ds.get(), what);
  const std::vector<std::int64_t> shape = dataset_shape(ds.get());
  if (shape.empty() || shape.size() > 2 || (shape.size() == 2 && shape[1] != 1))
    throw DataError(what + " must be 1-D (one name per feature)");
  const std::size_t n = static_cast<std::size_t>(shape[0]);
  std::vector<std::string> out(n);
  if (n == 0) return out;
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    std::vector<double> v(n);
    if (H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
      throw DataError("cannot read " + what);
    for (std::size_t i = 0; i < n; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, cls == H5T_INTEGER ? "%.0f" : "%.17g", v[i]);
      out[i] = buf;
    }
    return out;
  }
  if (cls != H5T_STRING) throw DataError(what + " must hold strings (names)");
  Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_cset(memory.get(), H5Tget_cset(type.get()));
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Tset_size(memory.get(), H5T_VARIABLE);
    std::vector<char*> ptrs(n, nullptr);
    if (H5Dread(ds.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)
      throw DataError("cannot read " + what);
    for (std::size_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, ptrs.data());
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  H5Tset_size(memory.get(), size);
  H5Tset_strpad(memory.get(), H5T_STR_NULLPAD);
  std::vector<char> buf(n * size);
  if (H5Dread(ds.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()) < 0)
    throw DataError("cannot read " + what);
  const bool spaces = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
  for (std::size_t i = 0; i < n; ++i) {
    std::string v(buf.data() + i * size, size);
    v = v.substr(0, v.find('\0'));
    if (spaces) v = v.substr(0, v.find_last_not_of(' ') + 1);
    out[i] = v;
  }
  return out;
}

DatasetRef dataset_ref(const std::string& value, const std::string& data_file) {
  const std::size_t at = value.rfind(":/");
  if (at == std::string::npos || at == 0) return {data_file, value};
  return {value.substr(0, at), value.substr(at + 1)};
}

std::vector<double> read_vector_dataset(const std::string& data_file, const std::string& value, const std::string& option) {
  const auto [path, name] = dataset_ref(value, data_file);
  Handle file = open_file_read(path, MPI_COMM_NULL, "--" + option + ": file");
  std::vector<std::int64_t> shape;
  const std::vector<double> v = read_doubles(file.get(), name, shape, "--" + option + ": file", path);
  if (shape.size() > 2 || (shape.size() == 2 && shape[0] != 1 && shape[1] != 1))
    throw DataError("--" + option + ": dataset " + name + " of '" + path + "' has shape (" +
                    std::to_string(shape[0]) + ", " + std::to_string(shape[1]) +
                    (shape.size() > 2 ? ", ...)" : ")") + "; expected one value per feature (a vector)");
  return v;
}

void read_row(hid_t file, const std::string& name, std::int64_t i, std::int64_t cols, double* out,
              const std::string& what, const std::string& path) {
  if (!object_exists(file, name)) throw DataError(what + " '" + path + "' lacks " + name);
  Handle ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw DataError(what + " '" + path + "': " + name + " is not a dataset");
  const std::vector<std::int64_t> shape = dataset_shape(ds.get());
  if (shape.size() != 2 || shape[0] <= i || shape[1] != cols)
    throw DataError(what + " '" + path + "': " + name + " does not have the expected shape");
  if (cols == 0) return;
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  const hsize_t start[2] = {static_cast<hsize_t>(i), 0}, count[2] = {1, static_cast<hsize_t>(cols)};
  const hsize_t n = static_cast<hsize_t>(cols);
  Handle mem(H5Screate_simple(1, &n, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) < 0 ||
      H5Dread(ds.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, out) < 0)
    throw DataError("cannot read row " + std::to_string(i) + " of " + name + " of " + what + " '" + path + "'");
}

void check_output_path(const std::string& output, const std::string& option, const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path dir = fs::absolute(output, ec).parent_path();
  if (!fs::is_directory(dir, ec)) throw UsageError(option + ": directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw UsageError(option + ": directory '" + dir.string() + "' is not writable");
  if (fs::is_directory(output, ec)) throw UsageError(option + ": '" + output + "' is a directory");
  for (const std::string& in : inputs)
    if (fs::exists(output, ec) && fs::equivalent(output, in, ec))
      throw UsageError(option + ": '" + output + "' is the input file; it would be replaced");
}

std::string disk_reason(const std::string& path) {
  if (errno == ENOSPC || errno == EDQUOT || errno == EIO) return std::string(": ") + std::strerror(errno);
  if (path.empty()) return "";
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  struct statvfs fs {};
  if (statvfs(dir.empty() ? "." : dir.c_str(), &fs) != 0) return "";
  const double free = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
  return free < (1 << 20) ? ": " + std::string(std::strerror(ENOSPC)) + " (" + std::to_string(static_cast<long long>(free)) +
                                " bytes free where it is written)"
                          : "";
}

namespace {
bool g_abandoned = false;
}  // namespace

void abandon_hdf5() { g_abandoned = true; }
bool hdf5_abandoned() { return g_abandoned; }

AtomicH5File::AtomicH5File(const std::string& path, std::string what)
    : path_(path), tmp_(path + ".tmp-" + std::to_string(::getpid())), what_(std::move(what)) {
  silence_hdf5();
  errno = 0;
  file_ = Handle(H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, file_access().get()), H5Fclose);
  if (!file_.valid()) {
    const std::string reason = disk_reason(tmp_);
    std::remove(tmp_.c_str());  // H5Fcreate may have made it before failing (a full disk), and no destructor runs
    throw RuntimeFailure("cannot create " + what_ + " '" + path_ + "' (temporary " + tmp_ + ")" + reason);
  }
}

AtomicH5File::~AtomicH5File() {
  if (!committed_) {
    file_.close();
    std::remove(tmp_.c_str());
  }
}

void AtomicH5File::commit(const std::string& keep_previous) {
  errno = 0;
  if (!file_.close())
    throw RuntimeFailure("writing " + what_ + " '" + path_ + "' failed while closing it" + disk_reason(tmp_));
  std::error_code ec;
  if (!keep_previous.empty() && std::filesystem::exists(path_, ec)) {
    std::filesystem::remove(keep_previous, ec);
    std::filesystem::create_hard_link(path_, keep_previous, ec);
    if (ec) std::filesystem::copy_file(path_, keep_previous, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) throw RuntimeFailure("cannot keep '" + path_ + "' as '" + keep_previous + "': " + ec.message());
  }
  std::filesystem::rename(tmp_, path_, ec);
  if (ec) throw RuntimeFailure("cannot move '" + tmp_ + "' to " + what_ + " '" + path_ + "': " + ec.message());
  committed_ = true;
}

namespace {
// file: the file as messages name it ("output file '...'", "checkpoint '...'"); path: where it is written.
void check_write(herr_t rc, const std::string& what, const std::string& file, const std::string& path) {
  if (rc < 0) throw RuntimeFailure("writing " + what + " to " + file + " failed" + disk_reason(path));
}

// Creates missing intermediate groups on the way to a dataset.
Handle link_props() {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return lcpl;
}
}  // namespace

void AtomicH5File::write_dataset(const std::string& name, const std::vector<std::int64_t>& shape,
                                 const double* data) {
  write_typed(name, shape, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data);
}

void AtomicH5File::write_dataset(const std::string& name, const std::vector<std::int64_t>& shape,
                                 const std::int64_t* data) {
  write_typed(name, shape, H5T_STD_I64LE, H5T_NATIVE_INT64, data);
}

void AtomicH5File::write_typed(const std::string& name, const std::vector<std::int64_t>& shape, hid_t file_type,
                               hid_t memory_type, const void* data) {
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space(shape.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               H5Sclose);
  Handle lcpl = link_props();
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
  if (!ds.valid()) check_write(-1, "dataset " + name, named(), tmp_);
  check_write(H5Dwrite(ds.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "dataset " + name, named(), tmp_);
}

void AtomicH5File::write_labels(const std::string& name, std::int64_t n, std::int64_t max_label,
                                const std::function<void(std::int64_t, std::int64_t, std::int32_t*)>& fill) {
  constexpr std::int64_t kBlock = std::int64_t{1} << 20;
  const hid_t type = max_label <= INT8_MAX ? H5T_STD_I8LE : max_label <= INT16_MAX ? H5T_STD_I16LE : H5T_STD_I32LE;
  const hsize_t dims = static_cast<hsize_t>(n), chunk = static_cast<hsize_t>(std::clamp<std::int64_t>(n, 1, kBlock));
  Handle space(H5Screate_simple(1, &dims, nullptr), H5Sclose);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(dcpl.get(), 1, &chunk);
  if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) H5Pset_deflate(dcpl.get(), 1);
  Handle lcpl = link_props();
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) check_write(-1, "dataset " + name, named(), tmp_);
  std::vector<std::int32_t> block(static_cast<std::size_t>(std::min(n, kBlock)));
  for (std::int64_t begin = 0; begin < n; begin += kBlock) {
    const std::int64_t end = std::min(n, begin + kBlock);
    fill(begin, end, block.data());
    const hsize_t start = static_cast<hsize_t>(begin), count = static_cast<hsize_t>(end - begin);
    Handle mem(H5Screate_simple(1, &count, nullptr), H5Sclose);
    const bool ok = H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr) >= 0 &&
                    H5Dwrite(ds.get(), H5T_NATIVE_INT32, mem.get(), space.get(), H5P_DEFAULT, block.data()) >= 0;
    check_write(ok ? 0 : -1, "dataset " + name, named(), tmp_);
  }
}

void AtomicH5File::write_strings(const std::string& name, const std::vector<std::string>& values) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const std::string& v : values) ptrs.push_back(v.c_str());
  write_typed(name, {static_cast<std::int64_t>(values.size())}, type.get(), type.get(), ptrs.data());
}

void AtomicH5File::create_rows(const std::string& name, std::int64_t rows, std::int64_t cols) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  Handle lcpl = link_props();
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose);
  if (!ds.valid()) check_write(-1, "dataset " + name, named(), tmp_);
}

void AtomicH5File::write_row(const std::string& name, std::int64_t i, std::int64_t cols, const double* data) {
  if (cols == 0) return;
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle space(ds.valid() ? H5Dget_space(ds.get()) : -1, H5Sclose);
  const hsize_t start[2] = {static_cast<hsize_t>(i), 0}, count[2] = {1, static_cast<hsize_t>(cols)};
  const hsize_t n = static_cast<hsize_t>(cols);
  Handle mem(H5Screate_simple(1, &n, nullptr), H5Sclose);
  const bool ok = space.valid() && H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr) >= 0 &&
                  H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, data) >= 0;
  check_write(ok ? 0 : -1, "row " + std::to_string(i) + " of dataset " + name, named(), tmp_);
}

namespace {
template <class Writer>
void put_attribute(hid_t file, const std::string& object, const std::string& name, hid_t file_type,
                   const std::string& file_name, Writer&& write) {
  Handle obj(H5Oopen(file, object.c_str(), H5P_DEFAULT), H5Oclose);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(obj.get(), name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!obj.valid() || !attr.valid() || write(attr.get()) < 0)
    throw RuntimeFailure("writing attribute " + name + " to " + file_name + " failed" + disk_reason());
}
}  // namespace

void AtomicH5File::attribute(const std::string& name, double value, const std::string& object) {
  put_attribute(file_.get(), object, name, H5T_IEEE_F64LE, named(),
                [&](hid_t a) { return H5Awrite(a, H5T_NATIVE_DOUBLE, &value); });
}

void AtomicH5File::attribute(const std::string& name, std::int64_t value, const std::string& object) {
  put_attribute(file_.get(), object, name, H5T_STD_I64LE, named(),
                [&](hid_t a) { return H5Awrite(a, H5T_NATIVE_INT64, &value); });
}

void AtomicH5File::attribute(const std::string& name, const std::string& value, const std::string& object) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const char* s = value.c_str();
  put_attribute(file_.get(), object, name, type.get(), named(), [&](hid_t a) { return H5Awrite(a, type.get(), &s); });
}

}  // namespace cadmm::io
