// svrctl metadata decode|encode: SVR metadata <-> JSON, the interop check tool.
//   decode [HEX...]            hex of an L4 payload starting with the cookie (stdin if absent)
//   decode --pcap FILE         every UDP/TCP payload with the cookie in a pcap/pcapng file
//   encode [--file FILE]       the JSON that decode prints (stdin if absent) -> hex
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "protocol/bytes.hpp"
#include "protocol/inspect.hpp"
#include "protocol/json.hpp"
#include "protocol/metadata.hpp"

namespace svr::ctl {
namespace {

namespace proto = svr::protocol;

struct DecodeOptions {
    std::vector<std::string> hex;
    std::string pcapFile;
    bool encrypted = false;
    bool compact = false;
};

struct EncodeOptions {
    std::string file;
};

std::string readAll(std::istream& in) { return {std::istreambuf_iterator<char>(in), {}}; }

bool readFile(const std::string& path, std::string& out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return false;
    }
    out = readAll(in);
    return true;
}

void print(const nlohmann::ordered_json& json, bool compact) { std::cout << json.dump(compact ? -1 : 2) << "\n"; }

int runDecode(const DecodeOptions& options)
{
    if (!options.pcapFile.empty()) {
        std::string file;
        if (!readFile(options.pcapFile, file)) {
            std::cerr << "svrctl: cannot read " << options.pcapFile << "\n";
            return 1;
        }
        auto described = proto::describeCapture(
            {reinterpret_cast<const std::uint8_t*>(file.data()), file.size()}, options.encrypted);
        if (!described) {
            std::cerr << "svrctl: " << options.pcapFile << ": " << described.error().code.message() << "\n";
            return 1;
        }
        print(*described, options.compact);
        return 0;
    }
    std::string text;
    for (const auto& part : options.hex) {
        text += part;
    }
    if (options.hex.empty()) {
        text = readAll(std::cin);
    }
    const auto data = proto::bytes::fromHex(text);
    if (!data) {
        std::cerr << "svrctl: input is not hex\n";
        return 2;
    }
    auto described = proto::describeMetadata(*data, options.encrypted);
    if (!described) {
        std::cerr << "svrctl: " << described.error().code.message() << "\n";
        return 1;
    }
    print(*described, options.compact);
    return 0;
}

int runEncode(const EncodeOptions& options)
{
    std::string text;
    if (options.file.empty()) {
        text = readAll(std::cin);
    } else if (!readFile(options.file, text)) {
        std::cerr << "svrctl: cannot read " << options.file << "\n";
        return 1;
    }
    auto document = nlohmann::ordered_json::parse(text, nullptr, false);
    if (document.is_discarded()) {
        std::cerr << "svrctl: input is not JSON\n";
        return 2;
    }
    // Accept one entry of `decode --pcap` output as well.
    if (document.is_object() && document.contains("metadata")) {
        document = document["metadata"];
    }
    auto parsed = proto::metadataFromJson(document);
    if (!parsed) {
        std::cerr << "svrctl: " << parsed.error().message << "\n";
        return 2;
    }
    auto encoded = proto::encode(parsed->metadata);
    if (!encoded) {
        std::cerr << "svrctl: " << encoded.error().code.message() << "\n";
        return 1;
    }
    encoded->insert(encoded->end(), parsed->trailing.begin(), parsed->trailing.end());
    std::cout << proto::bytes::toHex(*encoded) << "\n";
    return 0;
}

} // namespace

void registerMetadataCommands(CLI::App& app)
{
    auto* metadata = app.add_subcommand("metadata", "decode and encode SVR metadata (JSON <-> hex)");
    metadata->require_subcommand(1);

    auto decodeOptions = std::make_shared<DecodeOptions>();
    auto* decode = metadata->add_subcommand("decode", "print SVR metadata as JSON");
    decode->add_option("hex", decodeOptions->hex, "L4 payload bytes in hex, starting with the cookie (default: stdin)");
    decode->add_option("--pcap", decodeOptions->pcapFile, "decode every packet with metadata in a pcap/pcapng file")
        ->check(CLI::ExistingFile);
    decode->add_flag("--encrypted", decodeOptions->encrypted, "show the payload-TLV section as ciphertext");
    decode->add_flag("--compact", decodeOptions->compact, "one-line JSON");
    decode->callback([decodeOptions] { exitCode() = runDecode(*decodeOptions); });

    auto encodeOptions = std::make_shared<EncodeOptions>();
    auto* encode = metadata->add_subcommand("encode", "turn the JSON printed by decode back into hex");
    encode->add_option("--file", encodeOptions->file, "JSON file (default: stdin)")->check(CLI::ExistingFile);
    encode->callback([encodeOptions] { exitCode() = runEncode(*encodeOptions); });
}

} // namespace svr::ctl
