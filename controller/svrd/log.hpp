// svrd's log: one logfmt line per event on stderr, journald friendly:
//   svrd[ROUTER]: event=session.expired session=42 cause=idle
// journald (or the test's log file) adds the time. When stderr is the journal
// (JOURNAL_STREAM names it), each line starts with a syslog level prefix such as "<6>".
// Values are typed (LogValue): strings, numbers and booleans only, so key material
// (protocol::SecretKey) and payload bytes (spans, vectors) cannot be passed by mistake.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <concepts>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace svr::svrd {

// sd-daemon(3) levels: the values are the syslog priorities journald reads from "<N>".
enum class LogLevel : int { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

class LogValue {
public:
    LogValue(std::string_view text) : text_(text) {}
    LogValue(const char* text) : text_(text != nullptr ? text : "") {}
    LogValue(const std::string& text) : text_(text) {}
    LogValue(bool flag) : text_(flag ? "true" : "false") {}
    template <std::integral Number>
        requires(!std::same_as<Number, bool> && !std::same_as<Number, char>)
    LogValue(Number number) : text_(fmt::format("{}", number))
    {
    }
    LogValue(double number) : text_(fmt::format("{}", number)) {}

    const std::string& text() const { return text_; }

private:
    std::string text_;
};

struct LogField {
    std::string_view key;
    LogValue value;
};

struct LogContext {
    std::string router; // empty until the daemon knows it
    bool journal = false;
};

namespace detail {

inline bool isBareValueChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_' || c == ':' || c == '/' || c == '@' || c == '+' ||
           c == ',' || c == '[' || c == ']' || c == '\'' || c == '(' || c == ')';
}

// Keys come from code; anything outside [A-Za-z0-9._-] becomes '_' so a line always parses.
inline void appendKey(std::string& line, std::string_view key)
{
    if (key.empty()) {
        line += '_';
        return;
    }
    for (const char c : key) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        line += allowed ? c : '_';
    }
}

// A value is written bare when it is a plain token, otherwise quoted with \" \\ \n \r \t
// and \xNN escapes: one event is always one line whatever the message holds.
inline void appendValue(std::string& line, std::string_view value)
{
    bool bare = !value.empty();
    for (const char c : value) {
        bare = bare && isBareValueChar(c);
    }
    if (bare) {
        line += value;
        return;
    }
    line += '"';
    for (const char c : value) {
        switch (c) {
        case '"': line += "\\\""; break;
        case '\\': line += "\\\\"; break;
        case '\n': line += "\\n"; break;
        case '\r': line += "\\r"; break;
        case '\t': line += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                line += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
            } else {
                line += c;
            }
        }
    }
    line += '"';
}

// JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; it is inherited by children
// whose stderr may be redirected elsewhere, so compare it with stderr itself.
inline bool stderrIsJournal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) {
        return false;
    }
    struct stat info{};
    if (::fstat(STDERR_FILENO, &info) != 0) {
        return false;
    }
    return std::string_view(stream) ==
           fmt::format("{}:{}", static_cast<unsigned long long>(info.st_dev),
                       static_cast<unsigned long long>(info.st_ino));
}

struct LogSink {
    std::mutex mutex;
    LogContext context{{}, stderrIsJournal()};
};

inline LogSink& logSink()
{
    static LogSink sink;
    return sink;
}

// Lines of this thread held back while a LogBatch is open (see there).
struct PendingLines {
    int openBatches = 0;
    std::string lines;
};

inline PendingLines& pendingLines()
{
    thread_local PendingLines pending;
    return pending;
}

// One write for whole lines: lines of concurrent writers (other processes on the same log
// file or journal stream) never interleave.
inline void writeLines(std::string_view lines)
{
    std::fwrite(lines.data(), 1, lines.size(), stderr);
    std::fflush(stderr);
}

} // namespace detail

// Writes the lines this thread's open LogBatch holds back (also called by the terminate
// handler, so an abort loses no line).
inline void flushLogBatch()
{
    detail::PendingLines& pending = detail::pendingLines();
    if (pending.lines.empty()) {
        return;
    }
    {
        const std::lock_guard lock(detail::logSink().mutex);
        detail::writeLines(pending.lines);
    }
    pending.lines.clear();
}

// While one is open, this thread's log lines are collected and written with one write(2)
// when the outermost closes (or when 64 KiB wait): an event loop opens one per batch of
// frames, so a burst of new sessions costs one syscall for its log lines, not one each.
class LogBatch {
public:
    static constexpr std::size_t kFlushBytes = 64 * 1024;
    LogBatch() { ++detail::pendingLines().openBatches; }
    ~LogBatch()
    {
        if (--detail::pendingLines().openBatches == 0) {
            flushLogBatch();
        }
    }
    LogBatch(const LogBatch&) = delete;
    LogBatch& operator=(const LogBatch&) = delete;
};

inline std::string formatLogLine(const LogContext& context, LogLevel level,
                                 std::string_view event,
                                 std::initializer_list<LogField> fields)
{
    std::string line;
    if (context.journal) {
        line += fmt::format("<{}>", static_cast<int>(level));
    }
    line += context.router.empty() ? std::string("svrd:") : "svrd[" + context.router + "]:";
    line += " event=";
    detail::appendValue(line, event);
    if (level <= LogLevel::warning) {
        line += " level=";
        line += level == LogLevel::error ? "error" : "warning";
    }
    for (const LogField& field : fields) {
        line += ' ';
        detail::appendKey(line, field.key);
        line += '=';
        detail::appendValue(line, field.value.text());
    }
    line += '\n';
    return line;
}

// The router name every later line carries (svrd[ROUTER]:), set once the daemon knows it.
inline void setLogRouter(std::string router)
{
    detail::LogSink& sink = detail::logSink();
    const std::lock_guard lock(sink.mutex);
    sink.context.router = std::move(router);
}

inline void logEvent(LogLevel level, std::string_view event,
                     std::initializer_list<LogField> fields = {})
{
    detail::LogSink& sink = detail::logSink();
    detail::PendingLines& pending = detail::pendingLines();
    const std::lock_guard lock(sink.mutex);
    if (pending.openBatches == 0) {
        detail::writeLines(formatLogLine(sink.context, level, event, fields));
        return;
    }
    pending.lines += formatLogLine(sink.context, level, event, fields);
    if (pending.lines.size() >= LogBatch::kFlushBytes) {
        detail::writeLines(pending.lines);
        pending.lines.clear();
    }
}

inline void logEvent(std::string_view event, std::initializer_list<LogField> fields = {})
{
    logEvent(LogLevel::info, event, fields);
}

// Free-text messages of code not yet moved to named events: event=message msg="...".
template <typename... Args>
void logInfo(fmt::format_string<Args...> format, Args&&... args)
{
    logEvent(LogLevel::info, "message",
             {{"msg", fmt::format(format, std::forward<Args>(args)...)}});
}

} // namespace svr::svrd
