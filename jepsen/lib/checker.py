"""Linearizability checker for versioned registers (Wing & Gong / Lowe's WGL search with
memoisation), checked per key: keys are independent (P-compositionality).

A history is a list of dicts, JSON-lines friendly:
  {"process": 3, "type": "invoke"|"ok"|"fail"|"info", "f": "read"|"write"|"cas",
   "key": "k1", "value": ..., "time": <ns>}
For the Waihu settings register the state is (version, value), version 0 = absent:
  read   ok value = [value or None, version]
  write  invoke value = new value; ok value = version it got
  cas    invoke value = [expected_version, new value]; ok value = version it got;
         fail = the precondition did not hold (definitely not applied)
"info" (timeout, crash) means the op may or may not have taken effect, at any time
after its invocation.
"""
import math
import time

INITIAL = (0, None)


def step(state, op):
    """Applies op (with its observed result) to state: new state, or None if impossible."""
    version, value = state
    f, arg, res = op["f"], op["arg"], op["res"]
    if f == "read":
        if res is None:  # unknown result: a read changes nothing
            return state
        return state if (res[1] == version and (res[0] if res[1] else None) == value) else None
    if f == "write":
        if res is not None and res != version + 1:
            return None
        return (version + 1, arg)
    if f == "cas":
        expected, new = arg
        if expected != version:
            return None
        if res is not None and res != version + 1:
            return None
        return (version + 1, new)
    raise ValueError("unknown f %r" % f)


def pair_ops(history):
    """Matches invocations with completions per process. Failed ops are dropped (they did
    not happen); info ops complete at +inf with unknown result."""
    open_ops = {}
    ops = []
    for ev in history:
        p = ev["process"]
        if ev["type"] == "invoke":
            open_ops[p] = ev
            continue
        inv = open_ops.pop(p, None)
        if inv is None:
            raise ValueError("completion without invocation: %r" % ev)
        if ev["type"] == "fail":
            continue
        ops.append({"f": inv["f"], "key": inv.get("key"), "arg": inv.get("value"),
                    "res": ev.get("value") if ev["type"] == "ok" else None,
                    "call": inv["time"],
                    "ret": ev["time"] if ev["type"] == "ok" else math.inf,
                    "process": p})
    for p, inv in open_ops.items():  # never completed: indeterminate
        ops.append({"f": inv["f"], "key": inv.get("key"), "arg": inv.get("value"), "res": None,
                    "call": inv["time"], "ret": math.inf, "process": p})
    return ops


def check_ops(ops, initial=INITIAL, budget=2_000_000, deadline=None):
    """WGL search. Returns (True, None) or (False, info) or (None, why) if undecided
    (step budget or the time.monotonic() deadline ran out)."""
    n = len(ops)
    if n == 0:
        return True, None
    # Cache entries alone make re-trying from the first candidate after a backtrack safe:
    # a (linearized set, state) pair already explored is skipped.
    order = sorted(range(n), key=lambda i: ops[i]["call"])
    done = 0          # bitmask of linearized ops
    state = initial
    stack = []        # (op index, previous state)
    cache = set()
    steps = 0
    # ops that completed must be linearized; indeterminate ones may never have happened
    required = sum(1 << i for i in range(n) if ops[i]["ret"] != math.inf)
    best = 0
    while True:
        steps += 1
        if steps > budget:
            return None, "budget"
        if deadline is not None and steps % 1024 == 0 and time.monotonic() > deadline:
            return None, "time"
        # the earliest return among pending ops bounds which ops may go next
        min_ret = math.inf
        for i in order:
            if not done >> i & 1 and ops[i]["ret"] < min_ret:
                min_ret = ops[i]["ret"]
        moved = False
        for i in order:
            if done >> i & 1:
                continue
            if ops[i]["call"] > min_ret:
                break
            nxt = step(state, ops[i])
            if nxt is None:
                continue
            key = (done | 1 << i, nxt)
            if key in cache:
                continue
            cache.add(key)
            stack.append((i, state))
            done |= 1 << i
            state = nxt
            moved = True
            break
        if done & required == required:
            return True, None
        if bin(done).count("1") > best:
            best = bin(done).count("1")
        if moved:
            continue
        if not stack:
            return False, {"linearized": best, "ops": n}
        i, prev = stack.pop()
        done &= ~(1 << i)
        state = prev


def check_history(history, budget=2_000_000, seconds_per_key=30.0):
    """Checks every key independently. Returns {"valid": bool|None, "keys": {...}}."""
    by_key = {}
    for op in pair_ops(history):
        by_key.setdefault(op["key"], []).append(op)
    result = {"valid": True, "keys": {}}
    for key, ops in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        ok, info = check_ops(ops, budget=budget, deadline=time.monotonic() + seconds_per_key)
        result["keys"][key] = {"valid": ok, "ops": len(ops), "info": info}
        if ok is False:
            result["valid"] = False
        elif ok is None and result["valid"] is True:
            result["valid"] = None
    return result
