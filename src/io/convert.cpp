#include "io/convert.hpp"

#include <bzlib.h>
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <climits>
#include <map>
#include <memory>
#include <vector>

#include "cadmm/error.hpp"
#include "io/hdf5_util.hpp"

namespace cadmm::io {

namespace {

// The bytes of a text file, decompressed when it is gzip or bzip2 (known by its first bytes, not by its name, as
// scikit-learn's load_svmlight_file knows them), concatenated streams included. Other compressed or binary files are
// refused saying what they are, not parsed as text.
class TextSource {
 public:
  explicit TextSource(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "rb"), &std::fclose) {
    if (!f_) throw DataError("input file '" + path + "' cannot be opened");
    in_.resize(1 << 16);  // compressed bytes in flight; plain text is read straight into the caller's buffer
    fill();
    const auto starts = [&](const char* magic, std::size_t n) {
      return in_end_ >= n && std::memcmp(in_.data(), magic, n) == 0;
    };
    if (starts("\x1f\x8b", 2)) {
      kind_ = Kind::gzip;
      if (inflateInit2(&z_, 15 + 32) != Z_OK) throw RuntimeFailure("zlib: cannot start decompressing");
    } else if (starts("BZh", 3)) {
      kind_ = Kind::bzip2;
      if (BZ2_bzDecompressInit(&b_, 0, 0) != BZ_OK) throw RuntimeFailure("bzip2: cannot start decompressing");
    } else {
      const char* what = starts("\x89HDF\r\n\x1a\n", 8)  ? "an HDF5 file already: give it to --data as it is"
                         : starts("\xfd" "7zXZ", 5)       ? "xz-compressed: decompress it first (xz -dk FILE)"
                         : starts("\x28\xb5\x2f\xfd", 4)  ? "zstd-compressed: decompress it first (zstd -d FILE)"
                         : starts("PK\x03\x04", 4)        ? "a zip archive: unzip it first"
                                                          : nullptr;
      if (what) throw DataError("input file '" + path + "' is " + what);
    }
  }
  ~TextSource() {
    if (kind_ == Kind::gzip) inflateEnd(&z_);
    if (kind_ == Kind::bzip2) BZ2_bzDecompressEnd(&b_);
  }
  TextSource(const TextSource&) = delete;
  TextSource& operator=(const TextSource&) = delete;

  /// Up to n bytes of text into out; 0 at the end.
  std::size_t read(char* out, std::size_t n) {
    if (kind_ == Kind::plain) {
      if (in_pos_ == in_end_) {  // past the bytes read to recognise the file: no copy
        const std::size_t got = std::fread(out, 1, n, f_.get());
        file_bytes_ += static_cast<std::int64_t>(got);
        return got;
      }
      const std::size_t got = std::min(n, in_end_ - in_pos_);
      std::memcpy(out, in_.data() + in_pos_, got);
      in_pos_ += got;
      return got;
    }
    std::size_t made = 0;
    while (made == 0) {
      if (in_pos_ == in_end_ && !fill()) {
        if (!ended_) throw DataError("input file '" + path_ + "' ends inside its " + name() + " stream (truncated)");
        return 0;
      }
      const std::size_t avail = in_end_ - in_pos_;
      if (kind_ == Kind::gzip) {
        if (ended_) {  // another gzip member follows
          inflateReset(&z_);
          ended_ = false;
        }
        z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
        z_.avail_in = static_cast<uInt>(avail);
        z_.next_out = reinterpret_cast<Bytef*>(out);
        z_.avail_out = static_cast<uInt>(n);
        const int rc = inflate(&z_, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
          throw DataError("input file '" + path_ + "' is not valid gzip data (" + (z_.msg ? z_.msg : "zlib error") + ")");
        in_pos_ += avail - z_.avail_in;
        made = n - z_.avail_out;
        ended_ = rc == Z_STREAM_END;
      } else {
        if (ended_) {  // another bzip2 stream follows
          BZ2_bzDecompressEnd(&b_);
          b_ = bz_stream{};
          if (BZ2_bzDecompressInit(&b_, 0, 0) != BZ_OK) throw RuntimeFailure("bzip2: cannot start decompressing");
          ended_ = false;
        }
        b_.next_in = in_.data() + in_pos_;
        b_.avail_in = static_cast<unsigned>(avail);
        b_.next_out = out;
        b_.avail_out = static_cast<unsigned>(n);
        const int rc = BZ2_bzDecompress(&b_);
        if (rc != BZ_OK && rc != BZ_STREAM_END)
          throw DataError("input file '" + path_ + "' is not valid bzip2 data (error " + std::to_string(rc) + ")");
        in_pos_ += avail - b_.avail_in;
        made = n - b_.avail_out;
        ended_ = rc == BZ_STREAM_END;
      }
    }
    return made;
  }
  /// Bytes of the file read so far (compressed bytes for compressed input).
  std::int64_t file_bytes() const { return file_bytes_; }
  const std::string& path() const { return path_; }
  /// "gzip", "bzip2" or "" (plain text).
  std::string name() const { return kind_ == Kind::gzip ? "gzip" : kind_ == Kind::bzip2 ? "bzip2" : ""; }

 private:
  bool fill() {
    in_pos_ = 0;
    in_end_ = std::fread(in_.data(), 1, in_.size(), f_.get());
    file_bytes_ += static_cast<std::int64_t>(in_end_);
    return in_end_ > 0;
  }
  enum class Kind { plain, gzip, bzip2 };
  std::string path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f_;  // closed on every exit, a refusing constructor's too
  Kind kind_ = Kind::plain;
  z_stream z_{};
  bz_stream b_{};
  std::vector<char> in_;
  std::size_t in_pos_ = 0, in_end_ = 0;
  std::int64_t file_bytes_ = 0;
  bool ended_ = true;  // a compressed stream is complete (none started yet counts as complete only for plain text)
};

// Reads a text file line by line through one large reused buffer (no per-line allocation); asks stop(file bytes read)
// at every refill (up to 8 MB of text) and ends the conversion when it says so.
class LineReader {
 public:
  LineReader(const std::string& path, const std::function<bool(std::int64_t)>& stop) : source_(path), stop_(stop) {
    buf_.resize(1 << 16);  // grows to kMaxBuffer as the file proves long (a small file costs no 8 MB of zeroed pages)
  }
  /// Next line without its end-of-line; false at the end of the file.
  bool next(std::string_view& line) {
    for (;;) {
      const char* nl = static_cast<const char*>(std::memchr(buf_.data() + pos_, '\n', end_ - pos_));
      if (nl) {
        line = std::string_view(buf_.data() + pos_, static_cast<std::size_t>(nl - (buf_.data() + pos_)));
        pos_ = static_cast<std::size_t>(nl - buf_.data()) + 1;
        ++number_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return true;
      }
      if (eof_) {
        if (pos_ == end_) return false;
        line = std::string_view(buf_.data() + pos_, end_ - pos_);  // last line without a newline
        pos_ = end_;
        ++number_;
        return true;
      }
      if (stop_ && stop_(source_.file_bytes())) throw RuntimeFailure("interrupted by a signal; nothing was written");
      // Move the partial line to the front and refill; grow for a line longer than the buffer.
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
      // Grow for a line longer than the buffer, and while the buffer is below its working size.
      if (end_ == buf_.size() || (text_bytes_ > 0 && buf_.size() < kMaxBuffer)) buf_.resize(2 * buf_.size());
      const bool first = text_bytes_ == 0;
      std::size_t got = 0;
      while (end_ + got < buf_.size()) {
        const std::size_t r = source_.read(buf_.data() + end_ + got, buf_.size() - end_ - got);
        if (r == 0) break;
        got += r;
      }
      if (first) check_text(got);
      text_bytes_ += static_cast<std::int64_t>(got);
      end_ += got;
      if (got == 0) eof_ = true;
    }
  }
  std::int64_t line_number() const { return number_; }
  /// Bytes of the file read (compressed bytes for compressed input).
  std::int64_t bytes() const { return source_.file_bytes(); }
  std::string compression() const { return source_.name(); }

 private:
  // Text holds no NUL byte: a binary file is refused as such instead of being parsed (and quoted) as text.
  void check_text(std::size_t got) const {
    if (std::memchr(buf_.data() + end_, '\0', std::min<std::size_t>(got, 1 << 16)))
      throw DataError("input file '" + source_.path() + "' is not text" + std::string(source_.name().empty() ? "" : " (after " + source_.name() +
                      " decompression)") + ": it holds binary data; convert reads LIBSVM/SVMlight or CSV text, plain, "
                      "gzip or bzip2");
  }
  TextSource source_;
  std::function<bool(std::int64_t)> stop_;
  std::vector<char> buf_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::int64_t number_ = 0, text_bytes_ = 0;
  static constexpr std::size_t kMaxBuffer = 1 << 23;
};

// A 1-D or 2-D dataset that grows along its first axis, written in chunks from a buffer. It is made at its first
// write: chunks of 8 MiB, or of the data's own size when that write is also its last (a small file; each chunk is
// allocated whole, and a 3-row CSV file became 16 MiB).
class Appender {
 public:
  Appender(hid_t file, const std::string& name, hid_t file_type, hid_t mem_type, std::int64_t cols)
      : file_(file), file_type_(file_type), mem_type_(mem_type), cols_(cols), name_(name) {}
  /// Appends `rows` rows (cols values each, or single values) from data; last: no row follows.
  void append(const void* data, std::int64_t rows, bool last = false) {
    if (!ds_.valid()) {
      if (rows == 0 && !last) return;
      create(last ? rows : kChunkEntries);
    }
    if (rows == 0) return;
    const int rank = cols_ > 0 ? 2 : 1;
    hsize_t size[2] = {static_cast<hsize_t>(rows_ + rows), static_cast<hsize_t>(std::max<std::int64_t>(cols_, 1))};
    if (H5Dset_extent(ds_.get(), size) < 0) throw RuntimeFailure("cannot extend dataset " + name_ + where());
    Handle fspace(H5Dget_space(ds_.get()), H5Sclose);
    hsize_t start[2] = {static_cast<hsize_t>(rows_), 0}, count[2] = {static_cast<hsize_t>(rows), size[1]};
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
    Handle mspace(H5Screate_simple(rank, count, nullptr), H5Sclose);
    errno = 0;
    if (H5Dwrite(ds_.get(), mem_type_, mspace.get(), fspace.get(), H5P_DEFAULT, data) < 0)
      throw RuntimeFailure("writing dataset " + name_ + where() + " failed" + disk_reason());
    rows_ += rows;
  }
  hid_t get() const {
    if (!ds_.valid()) create(0);
    return ds_.get();
  }
  std::int64_t rows() const { return rows_; }

 private:
  static constexpr std::int64_t kChunkEntries = 1 << 20;
  void create(std::int64_t rows) const {
    const int rank = cols_ > 0 ? 2 : 1;
    const std::int64_t width = std::max<std::int64_t>(cols_, 1);
    hsize_t dims[2] = {0, static_cast<hsize_t>(width)};
    hsize_t maxdims[2] = {H5S_UNLIMITED, dims[1]};
    hsize_t chunk[2] = {static_cast<hsize_t>(std::clamp<std::int64_t>(rows, 1, std::max<std::int64_t>(1, kChunkEntries / width))),
                        dims[1]};
    Handle space(H5Screate_simple(rank, dims, maxdims), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.get(), rank, chunk);
    Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    ds_ = Handle(H5Dcreate2(file_, name_.c_str(), file_type_, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT), H5Dclose);
    if (!ds_.valid()) throw RuntimeFailure("cannot create dataset " + name_ + where());
  }
  // " in 'FILE'" (the temporary file being written), for messages.
  std::string where() const {
    std::string name(1024, '\0');
    const ssize_t len = H5Fget_name(file_, name.data(), name.size());
    return len > 0 ? " in '" + name.substr(0, static_cast<std::size_t>(len)) + "'" : std::string();
  }

  hid_t file_, file_type_, mem_type_;
  mutable Handle ds_;
  std::int64_t cols_, rows_ = 0;
  std::string name_;
};

// A piece of a line as a message quotes it: at most 40 characters, anything unprintable as \xNN.
std::string shown(std::string_view t) {
  std::string out;
  for (std::size_t i = 0; i < t.size() && i < 40; ++i) {
    const unsigned char c = static_cast<unsigned char>(t[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return t.size() > 40 ? out + "..." : out;
}

[[noreturn]] void malformed(const std::string& input, std::int64_t line, std::int64_t column, const std::string& what) {
  throw DataError("'" + input + "' line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what);
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(v);
}

bool parse_int(std::string_view s, std::int64_t& v) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

constexpr std::size_t kFlush = 1 << 20;  // entries buffered before a write
const double kNoLabel = std::nan("");     // the first label of a line that has none

// The words of a line, separated by spaces or tabs.
class Tokens {
 public:
  explicit Tokens(std::string_view line) : line_(line) {}
  /// Next word; false at the end of the line.
  bool next(std::string_view& t) {
    while (at_ < line_.size() && (line_[at_] == ' ' || line_[at_] == '\t')) ++at_;
    if (at_ >= line_.size()) return false;
    const std::size_t start = at_;
    while (at_ < line_.size() && line_[at_] != ' ' && line_[at_] != '\t') ++at_;
    t = line_.substr(start, at_ - start);
    return true;
  }

 private:
  std::string_view line_;
  std::size_t at_ = 0;
};

// A line's label or comma-separated labels (its first word).
std::vector<double> parse_labels(std::string_view t, const std::string& input, std::int64_t ln) {
  std::vector<double> labels;
  for (std::size_t s = 0; s <= t.size();) {
    const std::size_t comma = std::min(t.find(',', s), t.size());
    double v = 0;
    if (!parse_double(t.substr(s, comma - s), v)) malformed(input, ln, 1, "label '" + shown(t) + "' is not a number");
    labels.push_back(v);
    s = comma + 1;
  }
  return labels;
}

// The first pass of a LIBSVM conversion: /X (CSR, indices as read) and the first label of every line in /y are
// streamed to the file kFlush entries at a time; what the later steps need is kept.
class LibsvmRows {
 public:
  LibsvmRows(hid_t file, const std::string& input)
      : input_(input),
        data_(file, "X/data", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0),
        indices_(file, "X/indices", H5T_STD_I64LE, H5T_NATIVE_INT64, 0),
        indptr_(file, "X/indptr", H5T_STD_I64LE, H5T_NATIVE_INT64, 0),
        first_label_(file, "y", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0) {}

  /// Adds a line (comment and surrounding blanks removed, not empty), ln its number; DataError when malformed.
  void add(std::string_view line, std::int64_t ln) {
    Tokens tokens(line);
    std::string_view t;
    tokens.next(t);
    // A line that starts with index:value has no label: an empty label set (scikit-learn's multilabel reading).
    const bool labelled = t.find(':') == std::string_view::npos;
    const std::vector<double> row_labels = labelled ? parse_labels(t, input_, ln) : std::vector<double>{kNoLabel};
    for (std::size_t l = 1; l < row_labels.size(); ++l) extra_labels_.emplace_back(rows_, row_labels[l]);
    unlabelled_ += !labelled;
    std::int64_t prev = -1, column = 1;
    if (!labelled) add_entry(t, ln, column, prev);
    while (tokens.next(t)) add_entry(t, ln, ++column, prev);
    ptr_.push_back(nnz_);
    labels_.push_back(row_labels.front());
    ++rows_;
    if (vals_.size() >= kFlush || ptr_.size() >= kFlush) flush(false);
  }

  /// Writes what is buffered; with last, the final row pointer too.
  void flush(bool last) {
    first_label_.append(labels_.data(), static_cast<std::int64_t>(labels_.size()), last);
    labels_.clear();
    data_.append(vals_.data(), static_cast<std::int64_t>(vals_.size()), last);
    indices_.append(cols_.data(), static_cast<std::int64_t>(cols_.size()), last);
    indptr_.append(ptr_.data(), static_cast<std::int64_t>(ptr_.size()) - (last ? 0 : 1), last);
    vals_.clear(), cols_.clear();
    ptr_.erase(ptr_.begin(), ptr_.end() - 1);
  }

  std::int64_t rows() const { return rows_; }
  const std::string& input() const { return input_; }
  std::int64_t nonzeros() const { return nnz_; }
  std::int64_t min_index() const { return min_index_; }
  std::int64_t max_index() const { return max_index_; }
  const Appender& indices() const { return indices_; }
  const Appender& first_labels() const { return first_label_; }
  /// Lines without a label (their first label in /y is kNoLabel).
  std::int64_t unlabelled() const { return unlabelled_; }
  /// The further labels of multi-label lines: (row, label), in row order.
  const std::vector<std::pair<std::int64_t, double>>& extra_labels() const { return extra_labels_; }

 private:
  // One index:value word (qid:N skipped); indices strictly increase within a line, zeros are not stored.
  void add_entry(std::string_view t, std::int64_t ln, std::int64_t column, std::int64_t& prev) {
    const std::size_t colon = t.find(':');
    if (colon == std::string_view::npos) malformed(input_, ln, column, "expected index:value, got '" + shown(t) + "'");
    if (t.substr(0, colon) == "qid") return;
    std::int64_t idx = 0;
    double v = 0;
    if (!parse_int(t.substr(0, colon), idx) || idx < 0)
      malformed(input_, ln, column, "bad index '" + shown(t.substr(0, colon)) + "'");
    if (idx <= prev) malformed(input_, ln, column, "index " + std::to_string(idx) + " is not above the previous " + std::to_string(prev));
    if (!parse_double(t.substr(colon + 1), v))
      malformed(input_, ln, column, "value '" + shown(t.substr(colon + 1)) + "' is not a finite number");
    prev = idx;
    min_index_ = std::min(min_index_, idx);
    max_index_ = std::max(max_index_, idx);
    if (v != 0) cols_.push_back(idx), vals_.push_back(v), ++nnz_;
  }

  const std::string& input_;
  Appender data_, indices_, indptr_, first_label_;
  std::vector<double> vals_, labels_;
  std::vector<std::int64_t> cols_, ptr_{0};
  // Multi-label lines: only their further labels are kept (the first goes to /y as it is read), so memory stays
  // bounded by what multi-label lines hold beyond one label each.
  std::vector<std::pair<std::int64_t, double>> extra_labels_;
  std::int64_t min_index_ = INT64_MAX, max_index_ = -1, nnz_ = 0, rows_ = 0, unlabelled_ = 0;
};

// 1-based indices (no index 0 appeared): shifts the stored indices down in place, chunk by chunk.
void shift_indices_down(const Appender& indices, std::int64_t nnz) {
  std::vector<std::int64_t> chunk;
  for (std::int64_t s = 0; s < nnz; s += static_cast<std::int64_t>(kFlush)) {
    const hsize_t start = static_cast<hsize_t>(s), count = static_cast<hsize_t>(std::min<std::int64_t>(kFlush, nnz - s));
    chunk.resize(count);
    Handle fspace(H5Dget_space(indices.get()), H5Sclose);
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose);
    if (H5Dread(indices.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, chunk.data()) < 0)
      throw RuntimeFailure("re-reading indices failed");
    for (auto& c : chunk) --c;
    if (H5Dwrite(indices.get(), H5T_NATIVE_INT64, mspace.get(), fspace.get(), H5P_DEFAULT, chunk.data()) < 0)
      throw RuntimeFailure("rewriting indices failed");
  }
}

// Rows [r0, r0 + m) of the first labels /y, read back into firsts.
void read_first_labels(const Appender& first_label, std::int64_t r0, std::int64_t m, std::vector<double>& firsts) {
  firsts.resize(static_cast<std::size_t>(m));
  Handle fspace(H5Dget_space(first_label.get()), H5Sclose);
  const hsize_t start = static_cast<hsize_t>(r0), count = static_cast<hsize_t>(m);
  H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mspace(H5Screate_simple(1, &count, nullptr), H5Sclose);
  if (H5Dread(first_label.get(), H5T_NATIVE_DOUBLE, mspace.get(), fspace.get(), H5P_DEFAULT, firsts.data()) < 0)
    throw RuntimeFailure("re-reading labels failed");
}

// The distinct labels of a multi-label file, each with its indicator column (in increasing label order): the first
// labels read back from /y chunk by chunk, and the further labels kept.
std::map<double, std::int64_t> distinct_labels(const LibsvmRows& rows) {
  std::map<double, std::int64_t> distinct;
  std::vector<double> firsts;
  for (std::int64_t r0 = 0; r0 < rows.rows(); r0 += static_cast<std::int64_t>(kFlush)) {
    read_first_labels(rows.first_labels(), r0, std::min<std::int64_t>(kFlush, rows.rows() - r0), firsts);
    for (double v : firsts)
      if (!std::isnan(v)) distinct.emplace(v, 0);
  }
  for (const auto& [row, v] : rows.extra_labels()) distinct.emplace(v, 0);
  std::int64_t c = 0;
  for (auto& [v, col] : distinct) col = c++;
  return distinct;
}

// A multi-label file's y: a 2-D y of 0/1 indicators over the distinct labels, built chunk by chunk from /y's first
// labels and the further labels kept, replaces /y; /y_labels names its columns. Returns the number of targets.
std::int64_t write_label_indicators(AtomicH5File& out, const LibsvmRows& rows) {
  std::map<double, std::int64_t> distinct = distinct_labels(rows);
  // Classes are whole numbers; a real-valued target (regression) would make one indicator column per value.
  for (const auto& [v, col] : distinct)
    if (v != std::floor(v) || distinct.size() > 100000)
      throw DataError("'" + rows.input() + "' has lines with several labels or none (a multi-label file, y made of one "
                      "0/1 column per class), but its labels are not a set of classes (" +
                      (v != std::floor(v) ? "label " + shown(std::to_string(v)) + " is not a whole number"
                                          : std::to_string(distinct.size()) + " distinct labels") + ")");
  const std::int64_t targets = static_cast<std::int64_t>(distinct.size());
  const auto& extra = rows.extra_labels();
  Appender indicator(out.get(), "y_indicator", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, targets);
  std::vector<double> firsts, block;
  std::size_t next_extra = 0;
  const std::int64_t step = std::max<std::int64_t>(1, static_cast<std::int64_t>(kFlush) / targets);
  for (std::int64_t r0 = 0; r0 < rows.rows(); r0 += step) {
    const std::int64_t m = std::min(step, rows.rows() - r0);
    read_first_labels(rows.first_labels(), r0, m, firsts);
    block.assign(static_cast<std::size_t>(m * targets), 0.0);
    for (std::int64_t r = 0; r < m; ++r)
      if (!std::isnan(firsts[static_cast<std::size_t>(r)]))
        block[static_cast<std::size_t>(r * targets + distinct[firsts[static_cast<std::size_t>(r)]])] = 1;
    for (; next_extra < extra.size() && extra[next_extra].first < r0 + m; ++next_extra) {
      const auto& [row, v] = extra[next_extra];
      block[static_cast<std::size_t>((row - r0) * targets + distinct[v])] = 1;
    }
    indicator.append(block.data(), m, r0 + m == rows.rows());
  }
  if (H5Ldelete(out.get(), "y", H5P_DEFAULT) < 0 ||
      H5Lmove(out.get(), "y_indicator", out.get(), "y", H5P_DEFAULT, H5P_DEFAULT) < 0)
    throw RuntimeFailure("replacing /y by the label indicators failed");
  std::vector<double> names;
  for (auto& [v, col] : distinct) names.push_back(v);
  out.write_dataset("y_labels", {targets}, names.data());
  return targets;
}

// The attributes that make /X a CSR matrix (anndata's encoding, docs/spec.md section 3).
void write_csr_attributes(AtomicH5File& out, std::int64_t rows, std::int64_t features) {
  out.attribute("encoding-type", std::string("csr_matrix"), "/X");
  out.attribute("encoding-version", std::string("0.1.0"), "/X");
  const std::int64_t shape[2] = {rows, features};
  Handle obj(H5Oopen(out.get(), "/X", H5P_DEFAULT), H5Oclose);
  const hsize_t two = 2;
  Handle space(H5Screate_simple(1, &two, nullptr), H5Sclose);
  Handle attr(H5Acreate2(obj.get(), "shape", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, shape) < 0)
    throw RuntimeFailure("writing the shape attribute of /X failed");
}

}  // namespace

ConvertReport convert_libsvm(const std::string& input, const std::string& output,
                             const std::function<bool(std::int64_t)>& stop) {
  silence_hdf5();
  LineReader in(input, stop);
  AtomicH5File out(output);
  LibsvmRows rows(out.get(), input);
  std::string_view line;
  while (in.next(line)) {
    const std::int64_t ln = in.line_number();
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (!line.empty()) rows.add(line, ln);
  }
  if (rows.rows() == 0) throw DataError("'" + input + "' holds no data lines");
  rows.flush(true);
  ConvertReport rep;
  rep.rows = rows.rows();
  rep.zero_based = rows.min_index() == 0;
  rep.features = rows.max_index() < 0 ? 0 : rows.max_index() + (rep.zero_based ? 1 : 0);
  if (!rep.zero_based && rows.nonzeros() > 0) shift_indices_down(rows.indices(), rows.nonzeros());
  if (rows.unlabelled() == rows.rows()) throw DataError("'" + input + "' has no label on any line");
  if (!rows.extra_labels().empty() || rows.unlabelled() > 0) rep.targets = write_label_indicators(out, rows);
  rep.unlabelled = rows.unlabelled();
  rep.nonzeros = rows.nonzeros();
  rep.bytes = in.bytes();
  rep.compression = in.compression();
  write_csr_attributes(out, rep.rows, rep.features);
  out.commit();
  return rep;
}

namespace {

// The fields of a CSV header line: trimmed, surrounding double quotes removed ("" inside a quoted name is a quote).
std::vector<std::string> header_names(std::string_view line) {
  std::vector<std::string> names;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    const char c = i < line.size() ? line[i] : ',';
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"' && trim(field).empty()) {
      field.clear();
      quoted = true;
    } else if (c == ',') {
      names.emplace_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  return names;
}

// A column named by an option: a header name first (as --y-column takes it), else a 0-based number.
std::int64_t column_index(const std::string& column, const std::vector<std::string>& names, std::int64_t width,
                          const char* option) {
  const auto at = std::find(names.begin(), names.end(), column);
  if (at != names.end()) return at - names.begin();
  std::int64_t j = -1;
  if (parse_int(column, j)) {
    if (j < 0 || j >= width)
      throw UsageError(std::string(option) + ": " + column + " but rows have " + std::to_string(width) +
                       " fields (0-based)");
    return j;
  }
  if (names.empty())
    throw UsageError(std::string(option) + " " + column + ": a name needs --header (the first line naming the columns)");
  std::string list;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) list += (i ? ", " : "") + names[i];
  throw UsageError(std::string(option) + ": no column is named '" + column + "' (the header names " + list +
                   (names.size() > 12 ? ", ..." : "") + ")");
}

// The target column: "" is the last column; "none" (unless a column has that name) is no target, -1: every column
// is a feature (data for predict).
std::int64_t target_index(const std::string& target, const std::vector<std::string>& names, std::int64_t width) {
  if (target.empty()) return width - 1;
  if (target == "none" && std::find(names.begin(), names.end(), target) == names.end()) return -1;
  return column_index(target, names, width, "--target-column");
}

// --skip-columns: which of the width columns are left out (names or 0-based numbers, comma-separated).
std::vector<char> skipped_columns(const std::string& skip, const std::vector<std::string>& names, std::int64_t width) {
  std::vector<char> out(static_cast<std::size_t>(width), 0);
  for (std::size_t s = 0; !skip.empty() && s <= skip.size();) {
    const std::size_t comma = std::min(skip.find(',', s), skip.size());
    out[static_cast<std::size_t>(column_index(skip.substr(s, comma - s), names, width, "--skip-columns"))] = 1;
    s = comma + 1;
  }
  return out;
}

}  // namespace

ConvertReport convert_csv(const std::string& input, const std::string& output, bool header, const std::string& target_spec,
                          const std::string& skip_spec, const std::function<bool(std::int64_t)>& stop) {
  silence_hdf5();
  std::int64_t number = 0;
  if (!header && !target_spec.empty() && !parse_int(target_spec, number))
    throw UsageError("--target-column " + target_spec + ": a name needs --header (the first line naming the columns)");
  LineReader in(input, stop);
  AtomicH5File out(output);
  std::unique_ptr<Appender> x, y;
  std::vector<double> xbuf, ybuf, fields;
  ConvertReport rep;
  std::int64_t width = -1, target = -1, kept = 0;
  std::vector<std::string> names;  // the header's
  std::vector<char> skip;          // per column: left out (--skip-columns), known once the width is
  std::string_view line;
  std::int64_t buffered = 0;  // rows in xbuf (and ybuf)
  const auto flush = [&](bool last) {
    x->append(xbuf.data(), buffered, last);
    if (y) y->append(ybuf.data(), buffered, last);
    xbuf.clear(), ybuf.clear();
    buffered = 0;
  };
  // A header whose first name is empty heads a row index (pandas' to_csv with its default index=True, R's
  // write.csv with its row names): not a feature, so its field is skipped (it may hold text, such as dates).
  bool row_index = false;
  while (in.next(line)) {
    const std::int64_t ln = in.line_number();
    if (header && ln == 1) {
      names = header_names(line);
      row_index = names.size() > 1 && names.front().empty();
      if (row_index) names.erase(names.begin());
      rep.row_index = row_index;
      continue;
    }
    if (trim(line).empty()) continue;
    fields.clear();
    if (skip.empty() && !skip_spec.empty()) {  // the first data row gives the width the columns are checked against
      std::int64_t count = 1;
      for (std::size_t s = row_index ? std::min(line.find(','), line.size()) + 1 : 0; s < line.size(); ++s)
        count += line[s] == ',';
      // A header longer than the row: its names are found, and the header check below reports the mismatch.
      skip = skipped_columns(skip_spec, names, std::max<std::int64_t>(count, static_cast<std::int64_t>(names.size())));
    }
    for (std::size_t s = row_index ? std::min(line.find(','), line.size()) + 1 : 0; s <= line.size();) {
      const std::size_t comma = std::min(line.find(',', s), line.size());
      double v = 0;
      std::string_view f = trim(line.substr(s, comma - s));
      if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = trim(f.substr(1, f.size() - 2));  // quoted
      const std::size_t p = fields.size();
      if (p < skip.size() && skip[p]) {
        fields.push_back(0.0);  // left out unread
      } else if (!parse_double(f, v)) {
        const std::string name = p < names.size() ? " ('" + names[p] + "')" : "";
        // A field holding ';' or a tab: the file is not comma-separated (or has decimal commas), and no column can
        // be left out to mend that.
        const bool other_separator = f.find_first_of(";\t") != std::string_view::npos;
        malformed(input, ln, static_cast<std::int64_t>(p) + (row_index ? 2 : 1),
                  "'" + shown(f) + "' is not a finite number" + name +
                  (ln == 1 && !header && !other_separator ? " (if the first line names the columns, add --header)" : "") +
                  (other_separator
                       ? ": the fields are separated by ';' or a tab, and cadmm reads comma-separated values with '.' "
                         "decimals, as pandas' to_csv and R's write.csv write them (not write.csv2, sep=';' or sep='\\t')"
                   : ln > 1 || header ? "; leave a column that holds no numbers out with --skip-columns " +
                                           (name.empty() ? std::to_string(p) : names[p])
                                      : ""));
      } else {
        fields.push_back(v);
      }
      s = comma + 1;
    }
    if (width < 0) {
      width = static_cast<std::int64_t>(fields.size());
      if (!names.empty() && static_cast<std::int64_t>(names.size()) != width)
        malformed(input, ln, 1, "the header names " + std::to_string(names.size()) + " columns, the first row has " +
                                std::to_string(width) + " fields");
      target = target_index(target_spec, names, width);
      skip.resize(static_cast<std::size_t>(width), 0);
      if (target >= 0 && skip[static_cast<std::size_t>(target)])
        throw UsageError("--skip-columns: column " + std::to_string(target) + " is y (--target-column)");
      kept = width - std::count(skip.begin(), skip.end(), 1) - (target < 0 ? 0 : 1);
      if (kept < 1) malformed(input, ln, 1, "a row needs at least one feature besides the target and the skipped columns");
      x = std::make_unique<Appender>(out.get(), "X", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, kept);
      if (target >= 0) y = std::make_unique<Appender>(out.get(), "y", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0);
    } else if (static_cast<std::int64_t>(fields.size()) != width) {
      malformed(input, ln, static_cast<std::int64_t>(std::min<std::size_t>(fields.size(), static_cast<std::size_t>(width))) + 1,
                "row has " + std::to_string(fields.size()) + " fields, the first row has " + std::to_string(width));
    }
    for (std::int64_t j = 0; j < width; ++j)
      if (!skip[static_cast<std::size_t>(j)]) (j == target ? ybuf : xbuf).push_back(fields[static_cast<std::size_t>(j)]);
    ++rep.rows;
    ++buffered;
    if (xbuf.size() >= kFlush) flush(false);
  }
  if (rep.rows == 0) throw DataError("'" + input + "' holds no data rows");
  flush(true);
  rep.features = kept;
  rep.skipped = static_cast<std::int64_t>(std::count(skip.begin(), skip.end(), 1));
  rep.targets = target < 0 ? 0 : 1;
  rep.nonzeros = rep.rows * rep.features;
  rep.bytes = in.bytes();
  rep.compression = in.compression();
  rep.target_column = target;
  if (!names.empty()) {
    if (target >= 0) rep.target_name = names[static_cast<std::size_t>(target)];
    std::vector<std::string> features;
    for (std::int64_t j = 0; j < width; ++j)
      if (j != target && !skip[static_cast<std::size_t>(j)]) features.push_back(names[static_cast<std::size_t>(j)]);
    out.write_strings("feature_names", features);
  }
  out.commit();
  return rep;
}

}  // namespace cadmm::io
