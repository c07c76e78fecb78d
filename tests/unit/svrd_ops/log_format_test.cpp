// svrd's log lines: logfmt after a "svrd[ROUTER]:" prefix, one line per event whatever the
// values hold, a syslog level prefix only for the journal, and no way to log key bytes.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "protocol/crypto.hpp"
#include "svrd/log.hpp"

namespace {

using svr::svrd::formatLogLine;
using svr::svrd::LogContext;
using svr::svrd::LogLevel;
using svr::svrd::LogValue;

const LogContext kRouterEdge1{"edge1", false};

TEST(LogFormat, EventWithTypedFields)
{
    const std::uint64_t session = 42;
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "session.expired",
                            {{"session", session}, {"cause", "idle"}, {"nat", false}}),
              "svrd[edge1]: event=session.expired session=42 cause=idle nat=false\n");
}

TEST(LogFormat, NegativeAndFloatingNumbers)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "x", {{"delta", -3}, {"ratio", 0.5}}),
              "svrd[edge1]: event=x delta=-3 ratio=0.5\n");
}

TEST(LogFormat, NoRouterYetGivesPlainPrefix)
{
    EXPECT_EQ(formatLogLine(LogContext{}, LogLevel::info, "daemon.starting", {}),
              "svrd: event=daemon.starting\n");
}

TEST(LogFormat, ValuesWithSpacesOrQuotesAreQuotedAndEscaped)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "message",
                            {{"msg", R"(reload rejected: "web" \ bad)"}}),
              R"(svrd[edge1]: event=message msg="reload rejected: \"web\" \\ bad")"
              "\n");
}

TEST(LogFormat, EmptyValueIsQuoted)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "x", {{"tenant", ""}}),
              "svrd[edge1]: event=x tenant=\"\"\n");
}

TEST(LogFormat, MultiLineMessageStaysOneLine)
{
    const std::string line = formatLogLine(kRouterEdge1, LogLevel::info, "message",
                                           {{"msg", "first\nsecond\r\tthird\x01"}});
    EXPECT_EQ(line, "svrd[edge1]: event=message msg=\"first\\nsecond\\r\\tthird\\x01\"\n");
    EXPECT_EQ(line.find('\n'), line.size() - 1);
}

// '=' inside a value would confuse logfmt parsers: quoted, but otherwise verbatim (greppable).
TEST(LogFormat, ConfigPathsAreQuotedVerbatim)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "config.rejected",
                            {{"path", "/svr:config/services/service[name='web']/access-policy"}}),
              "svrd[edge1]: event=config.rejected "
              "path=\"/svr:config/services/service[name='web']/access-policy\"\n");
}

TEST(LogFormat, BadKeyCharactersAreReplaced)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "x", {{"a key=", 1}, {"", 2}}),
              "svrd[edge1]: event=x a_key_=1 _=2\n");
}

TEST(LogFormat, EventNameIsEscapedLikeAValue)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::info, "bad event", {}),
              "svrd[edge1]: event=\"bad event\"\n");
}

TEST(LogFormat, JournalGetsSyslogLevelPrefix)
{
    const LogContext journal{"edge1", true};
    EXPECT_EQ(formatLogLine(journal, LogLevel::info, "daemon.running", {}),
              "<6>svrd[edge1]: event=daemon.running\n");
    EXPECT_EQ(formatLogLine(journal, LogLevel::error, "daemon.failed", {}),
              "<3>svrd[edge1]: event=daemon.failed level=error\n");
    EXPECT_EQ(formatLogLine(journal, LogLevel::warning, "w", {}),
              "<4>svrd[edge1]: event=w level=warning\n");
    EXPECT_EQ(formatLogLine(journal, LogLevel::debug, "d", {}), "<7>svrd[edge1]: event=d\n");
}

TEST(LogFormat, PlainStderrHasNoLevelPrefixButNamesProblems)
{
    EXPECT_EQ(formatLogLine(kRouterEdge1, LogLevel::warning, "w", {}),
              "svrd[edge1]: event=w level=warning\n");
}

// Key material and payload bytes cannot become a log value: the API takes strings, numbers
// and booleans only, and SecretKey converts to none of them.
static_assert(!std::is_constructible_v<LogValue, svr::protocol::SecretKey>);
static_assert(!std::is_constructible_v<LogValue, const svr::protocol::SecretKey&>);
static_assert(!std::is_constructible_v<LogValue, std::span<const std::uint8_t>>);
static_assert(!std::is_constructible_v<LogValue, std::vector<std::uint8_t>>);
static_assert(std::is_constructible_v<LogValue, std::string>);
static_assert(std::is_constructible_v<LogValue, std::uint64_t>);

TEST(LogFormat, KeyEventCarriesMetadataNotKeyBytes)
{
    // What a key event can say: its generation and size, never the bytes.
    const auto key = svr::protocol::SecretKey::random(32);
    const std::string line = formatLogLine(kRouterEdge1, LogLevel::info, "peer.key-rotated",
                                           {{"generation", 2}, {"key_size", key.size()}});
    EXPECT_EQ(line, "svrd[edge1]: event=peer.key-rotated generation=2 key_size=32\n");
    std::string hex;
    for (const std::uint8_t byte : key.reveal()) {
        hex += fmt::format("{:02x}", byte);
    }
    EXPECT_EQ(line.find(hex.substr(0, 8)), std::string::npos);
}

TEST(LogFormat, JournalIsDetectedOnlyWhenJournalStreamNamesStderr)
{
    struct stat info{};
    ASSERT_EQ(::fstat(STDERR_FILENO, &info), 0);
    const std::string self = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    ::setenv("JOURNAL_STREAM", self.c_str(), 1);
    EXPECT_TRUE(svr::svrd::detail::stderrIsJournal());
    // Inherited from a parent whose stderr was the journal, ours redirected: not the journal.
    const std::string other = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino + 1);
    ::setenv("JOURNAL_STREAM", other.c_str(), 1);
    EXPECT_FALSE(svr::svrd::detail::stderrIsJournal());
    ::unsetenv("JOURNAL_STREAM");
    EXPECT_FALSE(svr::svrd::detail::stderrIsJournal());
}

TEST(LogFormat, LegacyLogInfoBecomesAMessageEventWithTheRouter)
{
    svr::svrd::setLogRouter("edge9");
    testing::internal::CaptureStderr();
    svr::svrd::logInfo("interface {} attached, {} punt queue(s)", "lan0", 2);
    svr::svrd::logEvent("session.created", {{"session", 7}, {"tenant", "eng.corp"}});
    const std::string written = testing::internal::GetCapturedStderr();
    svr::svrd::setLogRouter("");
    EXPECT_EQ(written, "svrd[edge9]: event=message msg=\"interface lan0 attached, 2 punt queue(s)\"\n"
                       "svrd[edge9]: event=session.created session=7 tenant=eng.corp\n");
}

TEST(LogFormat, BatchHoldsLinesUntilTheOutermostBatchCloses)
{
    svr::svrd::setLogRouter("edge9");
    testing::internal::CaptureStderr();
    std::string duringBatch;
    {
        const svr::svrd::LogBatch outer;
        svr::svrd::logEvent("session.created", {{"session", 1}});
        {
            const svr::svrd::LogBatch inner;
            svr::svrd::logEvent("session.created", {{"session", 2}});
        }
        std::fflush(stderr);
        duringBatch = testing::internal::GetCapturedStderr();
        testing::internal::CaptureStderr();
    }
    svr::svrd::logEvent("session.expired", {{"session", 1}});
    const std::string written = testing::internal::GetCapturedStderr();
    svr::svrd::setLogRouter("");
    EXPECT_EQ(duringBatch, ""); // nothing written while the outer batch is open
    EXPECT_EQ(written, "svrd[edge9]: event=session.created session=1\n"
                       "svrd[edge9]: event=session.created session=2\n"
                       "svrd[edge9]: event=session.expired session=1\n");
}

TEST(LogFormat, LargeBatchIsWrittenBeforeItCloses)
{
    testing::internal::CaptureStderr();
    std::size_t writtenInside = 0;
    {
        const svr::svrd::LogBatch batch;
        for (int i = 0; i < 2000; ++i) { // about 100 KiB: more than kFlushBytes
            svr::svrd::logEvent("session.created",
                                {{"session", i}, {"uuid", std::string(40, 'a')}});
        }
        std::fflush(stderr);
        writtenInside = testing::internal::GetCapturedStderr().size();
        testing::internal::CaptureStderr();
    }
    const std::string rest = testing::internal::GetCapturedStderr();
    EXPECT_GE(writtenInside, svr::svrd::LogBatch::kFlushBytes);
    EXPECT_GT(rest.size(), 0U);
    EXPECT_EQ(rest.back(), '\n'); // whole lines only
}

} // namespace
