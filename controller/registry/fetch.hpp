// Reading a registry's bytes from where it lives: a file path or an
// http(s) URL (libcurl). Bytes stream to the caller as they arrive, gzip
// is undone on the way (Content-Encoding or a .gz body), and every limit
// (size, time) ends the transfer with an Error that names it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace pw {

struct FetchOptions {
    long connect_timeout_s = 10;
    long timeout_s = 300;
    long stall_timeout_s = 30;        // no byte for this long ends the transfer
    uint64_t max_bytes = 512ull << 20; // on the wire and after gunzip
    size_t max_entries = 10'000'000;   // distinct entries one source may list
    // TLS: the server's certificate is always verified against the system's
    // CAs (or ca_file) unless insecure_tls is set, which only an explicit
    // --insecure-tls / insecure-tls = yes does, and every sync then says so.
    std::string ca_file;
    bool insecure_tls = false;
    // Conditional request: the validators of the last good version (HTTP
    // ETag / Last-Modified; for files, "mtime:size" in etag).
    std::string etag;
    std::string last_modified;
};

struct FetchResult {
    bool not_modified = false; // HTTP 304 or an unchanged file: the last good version stands
    std::string etag;
    std::string last_modified;
    uint64_t bytes = 0;        // bytes handed to the consumer
    long http_status = 0;
};

using ByteConsumer = std::function<void(std::string_view)>;
using Progress = std::function<void(uint64_t bytes)>;

bool is_url(const std::string& location);

// Throws Error("<location>: <reason>") on any failure.
FetchResult fetch(const std::string& location, const FetchOptions& opts,
                  const ByteConsumer& out, const Progress& progress = {});

} // namespace pw
