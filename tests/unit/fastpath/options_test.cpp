#include <gtest/gtest.h>

#include "fastpath/fastpath.hpp"
#include "fastpath/maps.hpp"

namespace fp = svr::fastpath;

TEST(Options, DefaultPinRootPerRouter)
{
    fp::FastPathOptions options;
    options.router = "edge-1";
    auto validated = fp::validateOptions(options);
    ASSERT_TRUE(validated.ok()) << validated.error().describe();
    EXPECT_EQ(validated->pinRoot, "/sys/fs/bpf/svr/edge-1");
}

TEST(Options, RejectsBadRouterNames)
{
    for (const char* bad : {"", ".", "..", "a/b", "a b", "r$", "../etc"}) {
        fp::FastPathOptions options;
        options.router = bad;
        auto validated = fp::validateOptions(options);
        ASSERT_FALSE(validated.ok()) << bad;
        EXPECT_NE(validated.error().message.find("options.router"), std::string::npos);
    }
    fp::FastPathOptions tooLong;
    tooLong.router = std::string(65, 'r');
    EXPECT_FALSE(fp::validateOptions(tooLong).ok());
}

TEST(Options, RejectsRelativeOrTrailingSlashPinRoot)
{
    for (const char* bad : {"relative/dir", "/sys/fs/bpf/svr/r/", "/"}) {
        fp::FastPathOptions options;
        options.router = "r";
        options.pinRoot = bad;
        auto validated = fp::validateOptions(options);
        ASSERT_FALSE(validated.ok()) << bad;
        EXPECT_NE(validated.error().message.find("options.pin_root"), std::string::npos);
    }
}

TEST(Options, RejectsTinySessionTable)
{
    fp::FastPathOptions options;
    options.router = "r";
    options.maxSessions = 1;
    auto validated = fp::validateOptions(options);
    ASSERT_FALSE(validated.ok());
    EXPECT_NE(validated.error().message.find("options.max_sessions"), std::string::npos);
}

TEST(Options, DosRateNeedsBurst)
{
    fp::FastPathOptions options;
    options.router = "r";
    options.dosRatePerSecond = 100;
    auto validated = fp::validateOptions(options);
    ASSERT_FALSE(validated.ok());
    EXPECT_NE(validated.error().message.find("options.dos_burst"), std::string::npos);
    options.dosBurst = 10;
    EXPECT_TRUE(fp::validateOptions(options).ok());
}

TEST(Options, XdpModes)
{
    EXPECT_EQ(*fp::parseXdpMode("native"), fp::XdpMode::Native);
    EXPECT_EQ(*fp::parseXdpMode("generic"), fp::XdpMode::Generic);
    EXPECT_EQ(*fp::parseXdpMode("skb"), fp::XdpMode::Generic);
    EXPECT_FALSE(fp::parseXdpMode("offload").ok());
}

TEST(MapLayouts, MatchContractSizes)
{
    const auto& layouts = fp::expectedMapLayouts();
    ASSERT_EQ(layouts.size(), 9u);
    EXPECT_STREQ(layouts[0].name, "sessions");
    EXPECT_EQ(layouts[0].keySize, 4u);     // record number
    EXPECT_EQ(layouts[0].valueSize, 168u); // 48-byte key, state, 112-byte value
    EXPECT_STREQ(layouts[1].name, "session_index");
    EXPECT_EQ(layouts[1].valueSize, 64u); // one cache line of slots
    for (const auto& layout : layouts) {
        EXPECT_GT(layout.keySize, 0u) << layout.name;
        EXPECT_GT(layout.valueSize, 0u) << layout.name;
    }
}
