#include "config/loader.hpp"

#include <libyang/libyang.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "config/semantic_checks.hpp"

namespace svr::config {

namespace {

using Json = nlohmann::json;

struct ContextDeleter {
    void operator()(ly_ctx* context) const { ly_ctx_destroy(context); }
};
struct TreeDeleter {
    void operator()(lyd_node* tree) const { lyd_free_all(tree); }
};
struct TextDeleter {
    void operator()(char* text) const { std::free(text); }
};
using ContextPtr = std::unique_ptr<ly_ctx, ContextDeleter>;
using TreePtr = std::unique_ptr<lyd_node, TreeDeleter>;

// libyang would print to stderr and keep only the last error by default; during a check every
// message is stored in the context instead. The global option is used because libyang's own
// temporary (thread-local) options, set while it validates leafrefs and unions, reset any
// temporary setting of ours to the global one. svrd loads configurations from one thread.
class StoreAllLibyangMessages {
public:
    StoreAllLibyangMessages() : previous_(ly_log_options(LY_LOSTORE)) {}
    ~StoreAllLibyangMessages() { ly_log_options(previous_); }
    StoreAllLibyangMessages(const StoreAllLibyangMessages&) = delete;
    StoreAllLibyangMessages& operator=(const StoreAllLibyangMessages&) = delete;

private:
    std::uint32_t previous_;
};

LY_ERR importEmbedded(const char* moduleName, const char*, const char* submoduleName,
                      const char*, void*, LYS_INFORMAT* format, const char** moduleData,
                      ly_module_imp_data_free_clb* freeModuleData)
{
    if (submoduleName != nullptr) {
        return LY_ENOTFOUND;
    }
    for (const auto& schema : embeddedSchemas()) {
        if (schema.name == moduleName) {
            *format = LYS_IN_YANG;
            *moduleData = schema.text.data(); // static storage, NUL-terminated literal
            *freeModuleData = nullptr;
            return LY_SUCCESS;
        }
    }
    return LY_ENOTFOUND;
}

// libyang 2.1 reports the location as text: 'Data location "/svr:config/router", line
// number 1.' or 'Schema location "/svr:config/authority/name".' The path is the quoted part;
// a line number, when there is one, goes into the message.
struct LibyangIssue {
    Issue issue;
    bool schemaLocation = false; // libyang named a schema node: the instance is unknown
};

LibyangIssue issueFromLibyang(std::string_view location, std::string message)
{
    const bool schemaLocation = location.starts_with("Schema location");
    const auto open = location.find('"');
    const auto close = open == std::string_view::npos ? open : location.find('"', open + 1);
    if (close == std::string_view::npos) {
        return {Issue{std::string(location), std::move(message)}, schemaLocation};
    }
    std::string path(location.substr(open + 1, close - open - 1));
    if (const auto line = location.find("line number", close); line != std::string_view::npos) {
        auto where = location.substr(line);
        if (where.ends_with('.')) {
            where.remove_suffix(1);
        }
        message += " (" + std::string(where) + ")";
    }
    return {Issue{std::move(path), std::move(message)}, schemaLocation};
}

struct SetDeleter {
    void operator()(ly_set* set) const { ly_set_free(set, nullptr); }
};

// Whether a data node has a child of that name, or a child inside a choice of that name.
bool hasChildOrChoice(const lyd_node* node, std::string_view name)
{
    for (const lyd_node* child = lyd_child(node); child != nullptr; child = child->next) {
        for (const lysc_node* schema = child->schema; schema != nullptr && schema != node->schema;
             schema = schema->parent) {
            if (name == schema->name) {
                return true;
            }
        }
    }
    return false;
}

// libyang 2.1 reports a missing mandatory node, choice or min-elements with the schema path
// only (/svr:config/peers/peer/key-generation), which does not say which list entry lacks it.
// Find the entries of the parent that lack the node and name them with their keys.
std::vector<Issue> locateMissingNode(const lyd_node* tree, const Issue& issue)
{
    const auto slash = issue.path.rfind('/');
    if (tree == nullptr || slash == std::string::npos || slash == 0) {
        return {issue};
    }
    const std::string parentPath = issue.path.substr(0, slash);
    std::string child = issue.path.substr(slash + 1);
    if (const auto colon = child.find(':'); colon != std::string::npos) {
        child.erase(0, colon + 1);
    }
    ly_set* rawSet = nullptr;
    if (lyd_find_xpath(tree, parentPath.c_str(), &rawSet) != LY_SUCCESS) {
        return {issue};
    }
    const std::unique_ptr<ly_set, SetDeleter> parents(rawSet);
    std::vector<Issue> located;
    for (std::uint32_t i = 0; i < parents->count; ++i) {
        const lyd_node* parent = parents->dnodes[i];
        if (hasChildOrChoice(parent, child)) {
            continue;
        }
        char* rawPath = lyd_path(parent, LYD_PATH_STD, nullptr, 0);
        if (rawPath == nullptr) {
            continue;
        }
        located.push_back(Issue{std::string(rawPath) + "/" + child, issue.message});
        std::free(rawPath);
    }
    if (located.empty()) {
        return {issue};
    }
    return located;
}

// The one message for a malformed key: it must never quote the value, which is a secret.
constexpr std::string_view kKeyFormatMessage = "a key needs 64 hexadecimal digits";
constexpr std::string_view kKeyTypedef = "hex-key-256";

// Collects the names of the parsed schema's leaves typed hex-key-256, groupings included.
void collectKeyLeaves(const lysp_node* first, std::set<std::string, std::less<>>& names)
{
    for (const lysp_node* node = first; node != nullptr; node = node->next) {
        if (node->nodetype == LYS_LEAF) {
            std::string_view type = reinterpret_cast<const lysp_node_leaf*>(node)->type.name;
            if (const auto colon = type.find(':'); colon != std::string_view::npos) {
                type.remove_prefix(colon + 1);
            }
            if (type == kKeyTypedef) {
                names.emplace(node->name);
            }
        }
        if (const lysp_node_grp* groupings = lysp_node_groupings(node); groupings != nullptr) {
            collectKeyLeaves(&groupings->node, names);
        }
        collectKeyLeaves(lysp_node_child(node), names);
    }
}

std::set<std::string, std::less<>> keyLeafNames(const ly_ctx* context)
{
    std::set<std::string, std::less<>> names;
    std::uint32_t index = 0;
    // Every module: a key leaf may sit in a grouping of svr-types used by svr.
    while (const lys_module* module = ly_ctx_get_module_iter(context, &index)) {
        if (module->parsed == nullptr) {
            continue;
        }
        collectKeyLeaves(module->parsed->data, names);
        if (module->parsed->groupings != nullptr) {
            collectKeyLeaves(&module->parsed->groupings->node, names);
        }
    }
    return names;
}

// The name of the last node of a data path: predicates (which may quote '/') and the module
// prefix removed.
std::string lastNodeName(std::string_view path)
{
    std::string bare;
    int depth = 0;
    char quote = 0;
    for (const char c : path) {
        if (quote != 0) {
            quote = c == quote ? 0 : quote;
        } else if (depth > 0 && (c == '\'' || c == '"')) {
            quote = c;
        } else if (c == '[') {
            ++depth;
        } else if (c == ']') {
            --depth;
        } else if (depth == 0) {
            bare.push_back(c);
        }
    }
    std::string name = bare.substr(bare.rfind('/') + 1);
    if (const auto colon = name.find(':'); colon != std::string::npos) {
        name.erase(0, colon + 1);
    }
    return name;
}

std::vector<Issue> libyangIssues(const ly_ctx* context, std::string_view fallback,
                                 const lyd_node* tree = nullptr)
{
    std::vector<Issue> issues;
    // libyang quotes a value that fails its pattern; for a key that would leak the secret.
    const auto keyLeaves = keyLeafNames(context);
    for (const ly_err_item* item = ly_err_first(context); item != nullptr; item = item->next) {
        if (item->level != LY_LLERR) {
            continue;
        }
        const std::string_view location = item->path != nullptr ? item->path : "";
        auto [issue, schemaLocation] =
            issueFromLibyang(location, item->msg != nullptr ? item->msg : std::string(fallback));
        // A schema location names a node with no instance, so no value to hide.
        if (!schemaLocation && keyLeaves.contains(lastNodeName(issue.path))) {
            issue = issueFromLibyang(location, std::string(kKeyFormatMessage)).issue;
        }
        if (schemaLocation) {
            for (auto& located : locateMissingNode(tree, issue)) {
                issues.push_back(std::move(located));
            }
        } else {
            issues.push_back(std::move(issue));
        }
    }
    if (issues.empty()) {
        issues.push_back(Issue{"", std::string(fallback)});
    }
    return issues;
}

Result<ContextPtr> makeSchemaContext()
{
    ly_ctx* raw = nullptr;
    if (ly_ctx_new(nullptr, LY_CTX_DISABLE_SEARCHDIRS | LY_CTX_NO_YANGLIBRARY, &raw) !=
        LY_SUCCESS) {
        return Error::invalid("libyang: cannot create a context");
    }
    ContextPtr context(raw);
    ly_ctx_set_module_imp_clb(context.get(), importEmbedded, nullptr);
    if (ly_ctx_load_module(context.get(), "svr", nullptr, nullptr) == nullptr) {
        // A schema that does not compile is a build defect, but report it rather than abort.
        std::string message = "libyang: cannot load the svr module";
        for (const auto& issue : libyangIssues(context.get(), "")) {
            message += "; " + issue.describe();
        }
        return Error::invalid(message);
    }
    return context;
}

// Values in the canonical JSON printed by libyang, defaults included.
std::string text(const Json& node, const char* key)
{
    const auto it = node.find(key);
    return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::optional<std::string> optionalText(const Json& node, const char* key)
{
    const auto it = node.find(key);
    if (it == node.end() || !it->is_string()) {
        return std::nullopt;
    }
    return it->get<std::string>();
}
template <typename Number>
Number number(const Json& node, const char* key, Number fallback)
{
    const auto it = node.find(key);
    return it != node.end() && it->is_number_unsigned() ? it->get<Number>() : fallback;
}
const Json& list(const Json& node, const char* container, const char* entries)
{
    static const Json empty = Json::array();
    const auto outer = node.find(container);
    if (outer == node.end()) {
        return empty;
    }
    const auto inner = outer->find(entries);
    return inner == outer->end() ? empty : *inner;
}
const Json& member(const Json& node, const char* key)
{
    static const Json empty = Json::object();
    const auto it = node.find(key);
    return it == node.end() ? empty : *it;
}
const Json& array(const Json& node, const char* key)
{
    static const Json empty = Json::array();
    const auto it = node.find(key);
    return it == node.end() ? empty : *it;
}

std::string singleQuoted(std::string_view value) { return "'" + std::string(value) + "'"; }

// libyang checked the lexical forms already; these catch the few texts its patterns let
// through that the C library still refuses.
class ModelBuilder {
public:
    explicit ModelBuilder(std::vector<Issue>& issues) : issues_(issues) {}

    IpPrefix prefix(const std::string& value, const std::string& path)
    {
        if (auto parsed = IpPrefix::parse(value)) {
            return *parsed;
        }
        issues_.push_back(Issue{path, "not an IP prefix: " + value});
        return {};
    }
    IpAddress address(const std::string& value, const std::string& path)
    {
        if (auto parsed = IpAddress::parse(value)) {
            return *parsed;
        }
        issues_.push_back(Issue{path, "not an IP address: " + value});
        return {};
    }
    std::optional<IpAddress> optionalAddress(const Json& node, const char* key,
                                             const std::string& path)
    {
        if (auto value = optionalText(node, key)) {
            return address(*value, path + "/" + key);
        }
        return std::nullopt;
    }
    Key256 key(const std::string& hex, const std::string& path)
    {
        Key256 bytes{};
        if (hex.size() != bytes.size() * 2) {
            issues_.push_back(Issue{path, std::string(kKeyFormatMessage)});
            return bytes;
        }
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
        }
        return bytes;
    }
    static PortRange portRange(const Json& node)
    {
        return PortRange{number<std::uint16_t>(node, "min", kDefaultWaypointPorts.first),
                         number<std::uint16_t>(node, "max", kDefaultWaypointPorts.last)};
    }
    static SessionTimeouts timeouts(const Json& node)
    {
        const SessionTimeouts defaults;
        auto seconds = [&](const char* key, std::chrono::seconds fallback) {
            return std::chrono::seconds(
                number<std::uint32_t>(node, key, static_cast<std::uint32_t>(fallback.count())));
        };
        return SessionTimeouts{seconds("tcp", defaults.tcp),
                               seconds("tcp-not-established", defaults.tcpNotEstablished),
                               seconds("udp", defaults.udp), seconds("icmp", defaults.icmp)};
    }

    Config build(const Json& root)
    {
        Config config;
        const std::string base = "/svr:config";
        config.authority = text(member(root, "authority"), "name");

        for (const auto& node : list(root, "tenants", "tenant")) {
            Tenant tenant{text(node, "name"), text(node, "description"), {}};
            const std::string path = base + "/tenants/tenant[name=" + singleQuoted(tenant.name) + "]";
            for (const auto& value : array(node, "source-prefix")) {
                tenant.sourcePrefixes.push_back(prefix(value, path + "/source-prefix"));
            }
            config.tenants.push_back(std::move(tenant));
        }

        std::vector<std::pair<std::string, SessionTimeouts>> sessionTypes;
        for (const auto& node : list(root, "session-types", "session-type")) {
            sessionTypes.emplace_back(text(node, "name"), timeouts(node));
        }

        buildSecurity(member(root, "security"), config, base + "/security");
        buildServices(root, sessionTypes, config, base + "/services");
        buildServiceRoutes(root, config, base + "/service-routes");

        for (const auto& node : list(root, "peers", "peer")) {
            config.peers.push_back(
                Peer{text(node, "name"), number<std::uint32_t>(node, "key-generation", 0)});
        }

        const Json& router = member(root, "router");
        config.routerName = text(router, "name");
        config.routerDescription = text(router, "description");
        for (const auto& node : array(router, "interface")) {
            config.interfaces.push_back(buildInterface(node, base + "/router"));
        }
        const Json& http = member(member(router, "management"), "http");
        if (const auto listen = optionalText(http, "address")) {
            config.http.address = address(*listen, base + "/router/management/http/address");
        }
        config.http.port = number<std::uint16_t>(http, "port", config.http.port);

        if (const auto ipfix = router.find("ipfix"); ipfix != router.end()) {
            config.ipfix = buildIpfix(*ipfix, base + "/router/ipfix");
        }

        const Json& dos = member(root, "dos");
        config.dos.newSessionsPerSecond =
            number<std::uint32_t>(dos, "new-sessions-per-second", config.dos.newSessionsPerSecond);
        config.dos.burst = number<std::uint32_t>(dos, "burst", config.dos.burst);
        return config;
    }

private:
    void buildSecurity(const Json& security, Config& config, const std::string& path)
    {
        for (const auto& node : array(security, "peer-key")) {
            PeerKey peerKey{text(node, "peer"), number<std::uint32_t>(node, "generation", 0), {},
                            {}};
            const std::string keyPath = path + "/peer-key[peer=" + singleQuoted(peerKey.peer) +
                                        "][generation='" + std::to_string(peerKey.generation) +
                                        "']";
            peerKey.hmacKey = key(text(node, "hmac-key"), keyPath + "/hmac-key");
            peerKey.metadataKey = key(text(node, "metadata-key"), keyPath + "/metadata-key");
            config.peerKeys.push_back(std::move(peerKey));
        }
        for (const auto& node : array(security, "payload-policy")) {
            PayloadPolicy policy{text(node, "name"), {},
                                 number<std::uint32_t>(node, "generation", 1)};
            policy.key = key(text(node, "key"),
                             path + "/payload-policy[name=" + singleQuoted(policy.name) + "]/key");
            config.payloadPolicies.push_back(std::move(policy));
        }
    }

    void buildServices(const Json& root,
                       const std::vector<std::pair<std::string, SessionTimeouts>>& sessionTypes,
                       Config& config, const std::string& base)
    {
        for (const auto& node : list(root, "services", "service")) {
            Service service;
            service.name = text(node, "name");
            service.description = text(node, "description");
            const std::string path = base + "/service[name=" + singleQuoted(service.name) + "]";
            for (const auto& value : array(node, "address")) {
                service.addresses.push_back(prefix(value, path + "/address"));
            }
            for (const auto& transportNode : array(node, "transport")) {
                Transport transport;
                const std::string protocol = text(transportNode, "protocol");
                transport.protocol = protocol == "udp"    ? Protocol::udp
                                     : protocol == "icmp" ? Protocol::icmp
                                                          : Protocol::tcp;
                for (const auto& range : array(transportNode, "port-range")) {
                    const auto first = number<std::uint16_t>(range, "start", 0);
                    transport.ports.push_back(
                        PortRange{first, number<std::uint16_t>(range, "end", first)});
                }
                service.transports.push_back(std::move(transport));
            }
            for (const auto& policyNode : array(node, "access-policy")) {
                const std::string source = text(policyNode, "source");
                AccessPolicy policy;
                if (source.find('/') != std::string::npos) {
                    policy.source = prefix(source, path + "/access-policy[source=" +
                                                       singleQuoted(source) + "]/source");
                } else {
                    policy.source = source;
                }
                policy.permission =
                    text(policyNode, "permission") == "deny" ? Permission::deny : Permission::allow;
                service.accessPolicies.push_back(std::move(policy));
            }
            service.sessionType = optionalText(node, "session-type");
            if (service.sessionType) {
                for (const auto& [name, timeouts] : sessionTypes) {
                    if (name == *service.sessionType) {
                        service.timeouts = timeouts;
                    }
                }
            }
            service.payloadPolicy = optionalText(node, "payload-encryption");
            config.services.push_back(std::move(service));
        }
    }

    void buildServiceRoutes(const Json& root, Config& config, const std::string& base)
    {
        for (const auto& node : list(root, "service-routes", "service-route")) {
            ServiceRoute route;
            route.name = text(node, "name");
            route.service = text(node, "service");
            route.priority = number<std::uint8_t>(node, "priority", route.priority);
            const std::string path = base + "/service-route[name=" + singleQuoted(route.name) + "]";
            if (const auto nextHopNode = node.find("next-hop"); nextHopNode != node.end()) {
                NextHop nextHop;
                nextHop.interface = text(*nextHopNode, "interface");
                nextHop.gateway = optionalAddress(*nextHopNode, "gateway", path + "/next-hop");
                nextHop.targetAddress =
                    optionalAddress(*nextHopNode, "target-address", path + "/next-hop");
                const auto sourceNat = nextHopNode->find("source-nat");
                nextHop.sourceNat = sourceNat != nextHopNode->end() && sourceNat->is_boolean() &&
                                    sourceNat->get<bool>();
                route.target = std::move(nextHop);
            } else {
                route.target = PeerTarget{text(node, "peer")};
            }
            config.serviceRoutes.push_back(std::move(route));
        }
    }

    IpfixExport buildIpfix(const Json& node, const std::string& path)
    {
        IpfixExport ipfix;
        ipfix.collector = address(text(node, "collector"), path + "/collector");
        ipfix.port = number<std::uint16_t>(node, "port", ipfix.port);
        ipfix.activeTimeout = std::chrono::seconds(number<std::uint32_t>(
            node, "active-timeout", static_cast<std::uint32_t>(ipfix.activeTimeout.count())));
        ipfix.templateRefresh = std::chrono::seconds(number<std::uint32_t>(
            node, "template-refresh", static_cast<std::uint32_t>(ipfix.templateRefresh.count())));
        ipfix.templateRefreshMessages =
            number<std::uint32_t>(node, "template-refresh-messages", 0);
        ipfix.observationDomainId = number<std::uint32_t>(node, "observation-domain-id", 0);
        return ipfix;
    }

    Interface buildInterface(const Json& node, const std::string& base)
    {
        Interface interface;
        interface.name = text(node, "name");
        interface.description = text(node, "description");
        interface.tenant = optionalText(node, "tenant");
        const std::string path = base + "/interface[name=" + singleQuoted(interface.name) + "]";
        for (const auto& value : array(node, "address")) {
            interface.addresses.push_back(prefix(value, path + "/address"));
        }
        interface.natPorts = portRange(member(node, "nat-ports"));
        if (const auto waypointNode = node.find("waypoint"); waypointNode != node.end()) {
            interface.waypoint =
                Waypoint{address(text(*waypointNode, "address"), path + "/waypoint/address"),
                         portRange(member(*waypointNode, "ports"))};
        }
        for (const auto& neighborhood : array(node, "neighborhood")) {
            const std::string neighborhoodName = text(neighborhood, "name");
            for (const auto& adjacencyNode : array(neighborhood, "adjacency")) {
                Adjacency adjacency;
                adjacency.interface = interface.name;
                adjacency.neighborhood = neighborhoodName;
                const std::string waypointText = text(adjacencyNode, "peer-waypoint");
                adjacency.peerWaypoint =
                    address(waypointText, path + "/neighborhood[name=" + singleQuoted(neighborhoodName) +
                                              "]/adjacency[peer-waypoint=" +
                                              singleQuoted(waypointText) + "]/peer-waypoint");
                adjacency.peer = text(adjacencyNode, "peer");
                adjacency.priority = number<std::uint8_t>(adjacencyNode, "priority", 100);
                if (const auto ports = adjacencyNode.find("port-range");
                    ports != adjacencyNode.end()) {
                    adjacency.peerPorts = portRange(*ports);
                }
                interface.adjacencies.push_back(std::move(adjacency));
            }
        }
        return interface;
    }

    std::vector<Issue>& issues_;
};

} // namespace

CheckReport checkConfig(std::string_view json)
{
    CheckReport report;
    StoreAllLibyangMessages storeMessages;
    auto context = makeSchemaContext();
    if (!context) {
        report.issues.push_back(Issue{"", context.error().message});
        return report;
    }
    // libyang parses from a NUL-terminated buffer.
    const std::string input(json);
    // Parse, then validate: a validation error can then be located in the parsed tree.
    // Type errors are found while parsing; their path has the list keys that precede the bad
    // value in the file (so write keys first, as libyang prints them).
    lyd_node* rawTree = nullptr;
    const LY_ERR parsed =
        lyd_parse_data_mem(context->get(), input.c_str(), LYD_JSON,
                           LYD_PARSE_STRICT | LYD_PARSE_ONLY, 0, &rawTree);
    TreePtr tree(rawTree);
    if (parsed != LY_SUCCESS) {
        report.issues = libyangIssues(context->get(), "the configuration is not valid");
        return report;
    }
    if (!tree) {
        report.issues.push_back(Issue{"/svr:config", "the file holds no svr configuration"});
        return report;
    }
    rawTree = tree.release();
    const LY_ERR validated =
        lyd_validate_all(&rawTree, context->get(), LYD_VALIDATE_PRESENT, nullptr);
    tree.reset(rawTree);
    if (validated != LY_SUCCESS) {
        report.issues =
            libyangIssues(context->get(), "the configuration is not valid", tree.get());
        return report;
    }

    // Re-read libyang's canonical JSON with every default filled in: the model is built from
    // values libyang has already checked.
    char* rawPrinted = nullptr;
    if (lyd_print_mem(&rawPrinted, tree.get(), LYD_JSON,
                      LYD_PRINT_WITHSIBLINGS | LYD_PRINT_WD_ALL | LYD_PRINT_SHRINK) !=
        LY_SUCCESS) {
        report.issues = libyangIssues(context->get(), "cannot print the validated data");
        return report;
    }
    const std::unique_ptr<char, TextDeleter> printed(rawPrinted);
    const Json canonical = Json::parse(printed.get(), nullptr, /*allow_exceptions=*/false);
    const auto root = canonical.is_object() ? canonical.find("svr:config") : canonical.end();
    if (root == canonical.end()) {
        report.issues.push_back(Issue{"/svr:config", "the file holds no svr configuration"});
        return report;
    }

    ModelBuilder builder(report.issues);
    Config config = builder.build(*root);
    if (!report.issues.empty()) {
        return report;
    }
    report.issues = checkSemantics(config);
    if (report.issues.empty()) {
        report.config = std::move(config);
    }
    return report;
}

Result<CheckReport> checkConfigFile(const std::filesystem::path& file)
{
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
        return Error::fromErrno(errno != 0 ? errno : ENOENT, "cannot read " + file.string());
    }
    std::ostringstream content;
    content << stream.rdbuf();
    if (stream.bad()) {
        return Error::fromErrno(EIO, "cannot read " + file.string());
    }
    return checkConfig(content.str());
}

namespace {

Result<Config> toResult(CheckReport report)
{
    if (report.valid()) {
        return std::move(*report.config);
    }
    std::string message = "invalid configuration:";
    for (const auto& issue : report.issues) {
        message += "\n  " + issue.describe();
    }
    return Error::invalid(message);
}

} // namespace

Result<Config> loadConfig(std::string_view json) { return toResult(checkConfig(json)); }

Result<Config> loadConfigFile(const std::filesystem::path& file)
{
    auto report = checkConfigFile(file);
    if (!report) {
        return report.error();
    }
    return toResult(std::move(*report));
}

} // namespace svr::config
