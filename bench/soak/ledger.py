"""The soak's invariant bookkeeping, fed incrementally for hours: the carrier's JSON log
(ground truth of what reached the phone network), the cluster's call.ended events (one per
CDR, GET /v1/events) and the harness's own record of faults and do-not-call additions.
Pure: no I/O but reading the carrier's log from where it stopped; tests feed it by hand
(bench/soak/test_ledger.py).

Invariants (each breach is counted and kept with its evidence):
  overlap      a number the carrier had two calls up to at once (a lead dialed twice
               concurrently: the soak's pools never put one number in two live campaigns)
  dnc          a number INVITEd after its do-not-call entry was acknowledged (+ margin)
  cdr_missing  a carrier call, ended more than `settle_ms` ago, with no CDR, that was not
               in flight on a node when the nemesis stopped it (those are `lost_fault`:
               counted and reported, not a breach; see docs/soak.md)
  cdr_extra    a second CDR for one carrier call, or a CDR of a call the carrier answered
               that the carrier never saw
"""
import datetime
import json

CALLER_PREFIX = "+86101234567"  # + node id: each node's caller ID, so the carrier's From names it
MATCH_MS = 5000                  # a CDR's start_ms and the carrier's INVITE, same machine clock
DNC_MARGIN_MS = 1000             # an attempt committed just before the DNC entry may still leave
FAULT_MARGIN_MS = 2000           # a call that ended this close to a fault may have lost its CDR


def node_of_from(frm):
    """Node id from the carrier's `from` (user@host): the caller ID ends in the node id."""
    user = frm.split("@", 1)[0]
    if user.startswith(CALLER_PREFIX) and user[len(CALLER_PREFIX):].isdigit():
        return int(user[len(CALLER_PREFIX):])
    return 0


def stamp(ms):
    """UTC time with milliseconds, as the node logs' ts, to find the moment there."""
    if ms is None:
        return "?"
    t = datetime.datetime.fromtimestamp(ms / 1e3, datetime.timezone.utc)
    return t.strftime("%H:%M:%S.%f")[:-3] + "Z"


class Call:
    __slots__ = ("call_id", "number", "node", "invite_ms", "end_ms", "eff_end_ms", "outcome",
                 "result", "hangup", "cdr", "checked", "lost")

    def __init__(self, ev):
        self.call_id = ev["call_id"]
        self.number = ev["number"].lstrip("+")
        self.node = node_of_from(ev.get("from", ""))
        self.invite_ms = ev["ts_ms"]
        self.outcome = ev.get("outcome", "")
        self.end_ms = None
        # When the phone side really hung up: the carrier logs "end" when the BYE
        # transaction finishes, which towards a dead node is its 32 s timeout.
        answers = self.outcome in ("answer", "human", "voicemail")
        self.eff_end_ms = self.invite_ms + ev.get("ring_ms", 0) + \
            (ev.get("talk_ms", 0) if answers else 0) + 1000
        self.result = self.hangup = None
        self.cdr = None
        self.checked = False
        self.lost = None


class Ledger:
    def __init__(self, carrier_log, settle_ms=60000):
        self.path = carrier_log
        self.offset = 0
        self.partial = b""
        self.settle_ms = settle_ms
        self.calls = {}          # carrier Call-ID -> Call (trimmed once checked and old)
        self.by_number = {}      # number -> [Call] (recent)
        self.open_cdrs = []      # CDRs not matched yet: (first_seen_ms, cdr)
        self.last_seq = -1       # events come in seq order: a repeat is one not above this
        self.dnc = {}            # number -> acknowledged at (ms); 0: before the campaigns
        self.faults = []         # (node id, fault_ms, back_ms or None)
        self.fail = {"overlap": [], "dnc": [], "cdr_missing": [], "cdr_extra": []}
        self.info = {"lost_fault": 0, "cdr_unsent": 0, "never_ended": 0}
        self.totals = {"invites": 0, "answered": 0, "ended": 0, "cdrs": 0, "matched": 0}
        self.customer_number = {}  # customer id -> number digits

    # ---- input ----
    def read_carrier(self):
        """Reads the carrier's log lines written since the last call (totals count them)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            if not raw.strip():
                continue
            ev = json.loads(raw)
            if ev["ev"] == "invite":
                c = Call(ev)
                self.calls[c.call_id] = c
                self.by_number.setdefault(c.number, []).append(c)
                self.totals["invites"] += 1
            elif ev["ev"] == "end":
                c = self.calls.get(ev["call_id"])
                if c is None:
                    continue
                c.end_ms = ev["ts_ms"]
                c.eff_end_ms = min(c.eff_end_ms, c.end_ms)
                c.result, c.hangup = ev["result"], ev.get("hangup")
                self.totals["ended"] += 1
                if c.result == "answered":
                    self.totals["answered"] += 1

    def add_cdr(self, seq, data, now_ms):
        """One call.ended event (GET /v1/events item's data)."""
        if seq <= self.last_seq:
            self.fail["cdr_extra"].append("event seq %d delivered again (after %d)"
                                          % (seq, self.last_seq))
            return
        self.last_seq = seq
        self.totals["cdrs"] += 1
        self.open_cdrs.append((now_ms, data))

    def add_dnc(self, number, at_ms):
        self.dnc[number.lstrip("+")] = at_ms

    def add_fault(self, node, fault_ms, what="stopped"):
        self.faults.append([node, fault_ms, None, what])

    def node_back(self, node, back_ms):
        for f in reversed(self.faults):
            if f[0] == node and f[2] is None:
                f[2] = back_ms
                return

    # ---- checks ----
    def _match(self, cdr):
        number = self.customer_number.get(int(cdr.get("customer_id", 0)))
        node = int(str(cdr.get("call", "0-0")).split("-", 1)[0])
        start = cdr.get("start_ms", 0)
        near = [c for c in self.by_number.get(number, ())
                if c.node == node and abs(c.invite_ms - start) <= MATCH_MS]
        # The closest call without a CDR yet; else a matched one (a second CDR for it).
        near.sort(key=lambda c: (c.cdr is not None, abs(c.invite_ms - start)))
        return near[0] if near else None

    def _lost_to_fault(self, c):
        """The call was up on its node when the nemesis stopped that node."""
        for node, at, _, _ in self.faults:
            if node == c.node and c.invite_ms <= at and \
                    (c.end_ms is None or c.end_ms >= at - FAULT_MARGIN_MS):
                return True
        return False

    def _near_fault(self, ms):
        """Which fault, if any, the moment `ms` followed closely (the usual suspect)."""
        for node, at, _, what in self.faults:
            if 0 <= ms - at <= 10000:
                return " [ended %.1f s after n%d %s]" % ((ms - at) / 1e3, node, what)
        return ""

    def check(self, now_ms, final=False):
        """Matches CDRs to carrier calls and checks every call settled by now (all when
        final); returns the number of new breaches."""
        before = self.failures()
        settle = 0 if final else self.settle_ms
        still = []
        for seen, cdr in self.open_cdrs:
            c = self._match(cdr)
            if c is not None and c.cdr is None:
                c.cdr = cdr
                self.totals["matched"] += 1
            elif c is not None:
                self.fail["cdr_extra"].append("second CDR %s for carrier call %s (first %s)"
                                              % (cdr.get("call"), c.call_id, c.cdr.get("call")))
            elif final or now_ms - seen > self.settle_ms:
                # No INVITE reached the carrier: a call that failed before leaving (e.g. a
                # carrier-failure while the node stopped) is fine; one that says answered
                # or abandoned needed the carrier's 200 OK.
                if cdr.get("result") in ("answered", "abandoned", "machine"):
                    self.fail["cdr_extra"].append(
                        "CDR %s (%s, customer %s = %s, start %s) matches no carrier call"
                        % (cdr.get("call"), cdr.get("result"), cdr.get("customer_id"),
                           self.customer_number.get(int(cdr.get("customer_id", 0))),
                           cdr.get("start_ms")))
                else:
                    self.info["cdr_unsent"] += 1
            else:
                still.append((seen, cdr))
        self.open_cdrs = still
        for number, calls in self.by_number.items():
            calls.sort(key=lambda c: c.invite_ms)
            for i, c in enumerate(calls):
                if c.checked:
                    continue
                if c.end_ms is None:
                    if final or now_ms - c.invite_ms > 15 * 60000:
                        self.info["never_ended"] += 1
                        c.checked = True
                    continue
                if not final and now_ms - c.end_ms < settle:
                    continue
                c.checked = True
                # Overlap with the next call to the number, on the phone side.
                if i + 1 < len(calls) and calls[i + 1].invite_ms < c.eff_end_ms:
                    n = calls[i + 1]
                    self.fail["overlap"].append(
                        "number %s: call %s (node %d, %d-%d) and %s (node %d, from %d)%s"
                        % (number, c.call_id, c.node, c.invite_ms, c.eff_end_ms, n.call_id,
                           n.node, n.invite_ms,
                           " [first call in flight at a fault]" if self._lost_to_fault(c) else ""))
                at = self.dnc.get(number)
                if at is not None and c.invite_ms > at + DNC_MARGIN_MS:
                    self.fail["dnc"].append("number %s on the DNC list since %d, INVITE %s at %d"
                                            % (number, at, c.call_id, c.invite_ms))
                if c.cdr is None:
                    if self._lost_to_fault(c):
                        c.lost = True
                        self.info["lost_fault"] += 1
                    else:
                        self.fail["cdr_missing"].append(
                            "carrier call %s to %s from node %d (%s-%s, %s) has no CDR%s"
                            % (c.call_id, number, c.node, stamp(c.invite_ms), stamp(c.end_ms),
                               c.result, self._near_fault(c.end_ms)))
        self._trim(now_ms)
        return self.failures() - before

    def _trim(self, now_ms):
        """Forgets calls checked long ago (keeps memory flat over days)."""
        horizon = now_ms - 30 * 60000
        for number in list(self.by_number):
            calls = self.by_number[number]
            keep = [c for c in calls if not (c.checked and c.invite_ms < horizon)]
            # The last call stays: the next one to this number is checked against it.
            if not keep and calls:
                keep = [calls[-1]]
            for c in calls:
                if c not in keep:
                    self.calls.pop(c.call_id, None)
            self.by_number[number] = keep

    def failures(self):
        return sum(len(v) for v in self.fail.values())

    def counts(self):
        return {k: len(v) for k, v in self.fail.items()}
