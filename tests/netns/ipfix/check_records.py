"""Checks the IPFIX records tshark decoded from the collector's capture against the traffic
the test sent (ipfix_e2e.sh). Reads tshark's PDML; exits non-zero naming the first mismatch.
usage: check_records.py PDML EXPECTED_JSON
EXPECTED_JSON: {"start_ms", "end_ms", "domain", "flows": [{"name", "family", "client",
"client_port", "server", "server_port", "service", "count", "payload", "received",
"end_reason", "nat": null | "203.0.113.1", "min_active_records", "protocol"}]}
A flow with "protocol": 6 (a TCP exchange whose segment count the test does not control) has
"count", "payload" and "received" null: its records must then show packets in both
directions, at least 40 IP octets per packet, and totals equal to the sum of the deltas."""
import json
import sys
import xml.etree.ElementTree as ET

NAT_PORTS = range(20000, 30000)
TENANT = "clients"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def children(node):
    """Named fields below a node, nested containers (timedelta) flattened."""
    for child in node:
        if child.get("name"):
            yield child
        yield from children(child)


def parse(pdml_path):
    messages, records = [], []
    for packet in ET.parse(pdml_path).getroot().iter("packet"):
        for proto in packet.iter("proto"):
            if proto.get("name") != "cflow":
                continue
            message = {"templates": 0, "records": 0}
            for field in proto.iter("field"):
                name = field.get("name")
                if name == "cflow.od_id":
                    message["domain"] = int(field.get("show"))
                elif name == "cflow.sequence":
                    message["sequence"] = int(field.get("show"))
                elif name == "cflow.template_id":
                    message["templates"] += 1
                elif name == "" and (field.get("show") or "").startswith("Flow "):
                    message["records"] += 1
                    records.append(record_of(field))
            messages.append(message)
    return messages, records


# tshark's field names, IPv4 and IPv6 alike, to one key per address.
ADDRESS_FIELDS = {
    "srcaddr": "srcaddr", "srcaddrv6": "srcaddr", "dstaddr": "dstaddr", "dstaddrv6": "dstaddr",
    "post_natsource_ipv4_address": "post_nat_source",
    "post_nat_source_ipv6_address": "post_nat_source",
    "post_natdestination_ipv4_address": "post_nat_destination",
    "post_nat_destination_ipv6_address": "post_nat_destination",
}


def record_of(flow):
    record = {}
    for field in children(flow):
        name = field.get("name").removeprefix("cflow.")
        show = field.get("show")
        if name == "enterprise_private_entry":
            text = bytes.fromhex(show.replace(":", "")).decode() if show else ""
            kind = "tenant" if " Type 1:" in field.get("showname") else "service"
            record[kind] = text
        elif name in ("abstimestart", "abstimeend"):
            record[name] = int(field.get("value"), 16)  # milliseconds since the epoch
        elif name in ADDRESS_FIELDS:
            record[ADDRESS_FIELDS[name]] = show
        elif name != "string_len_short" and show is not None:
            try:
                record[name] = int(show)
            except ValueError:
                record[name] = show
    return record


def check_messages(messages, domain):
    if not messages:
        fail("no IPFIX message captured")
    expected_sequence = None
    for index, message in enumerate(messages):
        if message.get("domain") != domain:
            fail(f"message {index}: observation domain {message.get('domain')}, want {domain}")
        if expected_sequence is not None and message["sequence"] != expected_sequence:
            fail(f"message {index}: sequence {message['sequence']}, want {expected_sequence}")
        expected_sequence = message["sequence"] + message["records"]
    # IPv4, IPv6, and IPv4 <-> IPv6 translated both ways.
    if messages[0]["templates"] != 4:
        fail("the first message does not carry the four templates")
    refreshed = sum(1 for message in messages if message["templates"] == 4)
    if refreshed < 2:
        fail(f"templates sent {refreshed} time(s): no refresh")
    print(f"{len(messages)} messages, sequence numbers consecutive, templates sent {refreshed} times")


def check_flow(flow, records, window):
    name = flow["name"]
    header = 28 if flow["family"] == 4 else 48  # IP + UDP headers
    protocol = flow.get("protocol", 17)
    forward = [r for r in records if r.get("srcaddr") == flow["client"]
               and r.get("srcport") == flow["client_port"] and r.get("biflow_direction") == 1]
    if not forward:
        fail(f"{name}: no initiator record")
    flow_id = forward[0]["flow_id"]
    reverse = [r for r in records if r.get("flow_id") == flow_id and r.get("biflow_direction") == 2]
    mine = [r for r in records if r.get("flow_id") == flow_id]
    if len(mine) != len(forward) + len(reverse) or any(r["flow_id"] != flow_id for r in forward):
        fail(f"{name}: records of the session do not share one flowId")
    nat = flow["nat"]
    nat_port = forward[0].get("post_naptsource_transport_port")
    for r in forward:
        expect = {"dstaddr": flow["server"], "dstport": flow["server_port"], "protocol": protocol,
                  "post_nat_destination": flow["server"],
                  "post_naptdestination_transport_port": flow["server_port"],
                  "post_nat_source": nat or flow["client"], "tenant": TENANT,
                  "service": flow["service"]}
        if not nat:
            expect["post_naptsource_transport_port"] = flow["client_port"]
        compare(name + " initiator", r, expect)
    if nat and nat_port not in NAT_PORTS:
        fail(f"{name}: post-NAPT source port {nat_port} outside the NAT range")
    for r in reverse:
        compare(name + " reverse", r, {
            "srcaddr": flow["server"], "srcport": flow["server_port"],
            "dstaddr": nat or flow["client"],
            "dstport": nat_port if nat else flow["client_port"],
            "post_nat_source": flow["server"], "post_naptsource_transport_port": flow["server_port"],
            "post_nat_destination": flow["client"],
            "post_naptdestination_transport_port": flow["client_port"], "protocol": protocol,
            "tenant": TENANT, "service": flow["service"]})
    for label, direction, sent in (("initiator", forward, flow["count"]),
                                   ("reverse", reverse, flow["received"])):
        if not direction:
            fail(f"{name}: no {label} record")
        packets = sum(r["packets"] for r in direction)
        octets = sum(r["octets"] for r in direction)
        if sent is None:  # TCP: the stack chose the segments
            if packets == 0 or octets < 40 * packets:
                fail(f"{name} {label}: {packets} packets / {octets} octets in the records")
        elif packets != sent or octets != sent * (header + flow["payload"]):
            fail(f"{name} {label}: {packets} packets / {octets} octets in the records, "
                 f"sent {sent} x {header + flow['payload']} IP octets")
        last = direction[-1]
        if last["permanent_packets"] != packets or last["permanent_octets"] != octets:
            fail(f"{name} {label}: totals {last['permanent_packets']}/{last['permanent_octets']}"
                 f" differ from the sum of the deltas {packets}/{octets}")
        if last["flow_end_reason"] != flow["end_reason"]:
            fail(f"{name} {label}: last record's end reason {last['flow_end_reason']},"
                 f" want {flow['end_reason']}")
        active = [r for r in direction if r["flow_end_reason"] == 2]
        if len(active) < flow.get("min_active_records", 0):
            fail(f"{name} {label}: {len(active)} active-timeout records, want at least "
                 f"{flow['min_active_records']}")
        for r in direction:
            if not window[0] <= r["abstimestart"] <= r["abstimeend"] <= window[1]:
                fail(f"{name} {label}: start/end {r['abstimestart']}/{r['abstimeend']} not in "
                     f"the test's time window {window}")
    print(f"{name}: {len(forward)}+{len(reverse)} record(s), "
          f"{sum(r['packets'] for r in forward)}/{sum(r['packets'] for r in reverse)} packets, "
          f"{'NAT port ' + str(nat_port) if nat else 'no NAT'} - ok")


def compare(what, record, expect):
    for key, value in expect.items():
        if record.get(key) != value:
            fail(f"{what}: {key} is {record.get(key)!r}, want {value!r} (record {record})")


def main():
    expected = json.load(open(sys.argv[2]))
    messages, records = parse(sys.argv[1])
    check_messages(messages, expected["domain"])
    window = (expected["start_ms"] - 1000, expected["end_ms"] + 1000)
    for flow in expected["flows"]:
        check_flow(flow, records, window)
    print("PASS")


main()
