// The contract headers compile as C++ and keep their layout (static_asserts in abi.hpp);
// these cases pin the values both sides rely on at run time.
#include <gtest/gtest.h>

#include "common/result.hpp"
#include "fastpath/abi.hpp"

TEST(Abi, PuntMetaFitsXdpMetadataArea)
{
    // bpf_xdp_adjust_meta accepts at most 32 bytes, in multiples of 4.
    EXPECT_LE(sizeof(svr_punt_meta), 32u);
    EXPECT_EQ(sizeof(svr_punt_meta) % 4, 0u);
}

TEST(Abi, FamiliesAreIpVersionNumbers)
{
    EXPECT_EQ(SVR_FAMILY_IPV4, 4);
    EXPECT_EQ(SVR_FAMILY_IPV6, 6);
}

TEST(Result, CarriesValueOrError)
{
    svr::Result<int> good = 7;
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 7);
    svr::Result<int> bad = svr::Error::fromErrno(ENOENT, "open /nonexistent");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, std::errc::no_such_file_or_directory);
    EXPECT_NE(bad.error().describe().find("open /nonexistent"), std::string::npos);
}
