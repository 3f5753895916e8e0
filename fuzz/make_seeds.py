#!/usr/bin/env python3
"""Writes the hand-made seed inputs of fuzz/corpus/<target>/seed-* (valid and near-valid).
Run again after changing a format; inputs the fuzzers found are kept beside them."""
import os
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


# ---- protobuf, just enough for proto/waihu.proto's Entry ----
def varint(v):
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def fv(n, v):  # varint field
    return varint(n << 3) + varint(v)


def fb(n, b):  # length-delimited field
    b = b.encode() if isinstance(b, str) else b
    return varint(n << 3 | 2) + varint(len(b)) + b


def entry(*commands, version=1, stamp=1764000000000, origin=1, batch=1):
    return (fv(1, version) + fv(2, stamp) + b"".join(fb(3, c) for c in commands) +
            fv(4, origin) + fv(5, batch))


def command(op_field, op, client=0, seq=0):
    return (fv(1, client) if client else b"") + (fv(2, seq) if seq else b"") + fb(op_field, op)


def cond(cf, key, kind=0, value_hash=b"", nb=0, na=0):
    return (fv(1, cf) + fb(2, key) + (fv(3, kind) if kind else b"") +
            (fb(4, value_hash) if value_hash else b"") + (fv(5, nb) if nb else b"") +
            (fv(6, na) if na else b""))


def op(cf, key, value=b"", delete=False, commit=False, stamp_field=0, seq=False):
    return (fv(1, cf) + fb(2, key) + (fb(3, value) if value else b"") +
            (fv(4, 1) if delete else b"") + (fv(5, 1) if commit else b"") +
            (fv(6, stamp_field) if stamp_field else b"") + (fv(7, 1) if seq else b""))


def mutation(conds=(), ops=()):
    return b"".join(fb(1, c) for c in conds) + b"".join(fb(2, o) for o in ops)


def store_seeds():
    import hashlib
    put_ = lambda k, v, **kw: fb(1, k) + fb(2, v) + (fv(3, 1) + fv(4, kw["exp"]) if "exp" in kw else b"")
    e = {
        "setting-put": entry(command(10, put_("feature.x", "on"), client=5, seq=1)),
        "setting-cas": entry(command(10, put_("a/b:c", "1", exp=0), client=5, seq=2),
                             command(10, put_("a/b:c", "2", exp=1), client=5, seq=3)),
        "setting-delete": entry(command(11, fb(1, "feature.x") + fv(2, 1) + fv(3, 1))),
        "announce": entry(command(12, fv(1, 2) + fb(2, "n2") + fb(3, "dc1") +
                                  fb(4, "127.0.0.1:7002") + fb(5, "127.0.0.1:8002"))),
        "noop": entry(command(13, b"")),
        "mutation-absent": entry(command(14, mutation([cond(1, b"\0\0\0\0\0\0\0\7k1")],
                                                      [op(1, b"\0\0\0\0\0\0\0\7k1", b"v1")]),
                                         client=9, seq=1)),
        "mutation-present-delete": entry(command(14, mutation(
            [cond(1, b"\0\0\0\0\0\0\0\7k1", kind=1)], [op(1, b"\0\0\0\0\0\0\0\7k1", delete=True)]))),
        "mutation-hash": entry(command(14, mutation(
            [cond(2, b"p-idx", kind=2, value_hash=hashlib.sha256(b"v1").digest()[:16]),
             cond(0, b"", kind=3, nb=1764000000000 - 1, na=1764000000000 + 1)],
            [op(2, b"p-idx", b"v2")]))),
        "mutation-audit": entry(command(14, mutation([], [op(8, b"\0\0\0\0\0\0\0\7", b"audit",
                                                              commit=True)]))),
        "mutation-event": entry(command(14, mutation([], [
            op(9, b"\0\0\0\0\0\0\0\7", b"\x08\x01", seq=True, stamp_field=9),
            op(5, b"agent-1", b"\x08\x02", stamp_field=15)]))),
        "mutation-svc-meta": entry(command(14, mutation([], [op(0, b"svc/cursor", b"42")]))),
        "mutation-meta-refused": entry(command(14, mutation([], [op(0, b"applied_index", b"x")]))),
        "batch": entry(command(15, fb(1, mutation([cond(3, b"c1")], [op(3, b"c1", b"a")])) +
                               fb(1, mutation([cond(3, b"c1")], [op(3, b"c1", b"b")])),
                               client=11, seq=1)),
        "dup-in-entry": entry(command(13, b"", client=12, seq=4), command(13, b"", client=12, seq=4),
                              command(13, b"", client=12, seq=3)),
        "version2": entry(command(13, b""), version=2),
        "empty": entry(),
    }
    for name, msg in e.items():
        put("fuzz_store_apply", name, b"\0" + msg)
    m = e["setting-put"]
    framed = struct.pack(">I", len(m)) + m
    framed += b"\0" * (-len(framed) % 8)
    put("fuzz_store_apply", "framed", b"\1" + framed)
    put("fuzz_store_apply", "framed-long-length", b"\1" + struct.pack(">I", 1 << 30) + m)


def manifest_body(id_, entries, parent="", created=1764000000000, index=1234, ext=b""):
    b = bytes([len(id_)]) + id_.encode() + bytes([1 if parent else 0])
    b += struct.pack(">qQ", created, index) + bytes([len(parent)]) + parent.encode()
    b += (b"\x42" * 32 if parent else b"\0" * 32) + struct.pack(">I", len(entries))
    for kind, name, size in entries:
        b += bytes([kind]) + struct.pack(">H", len(name)) + name.encode()
        b += struct.pack(">Q", size) + bytes(range(32))
    return b + struct.pack(">I", len(ext)) + ext


def manifest_seeds():
    full = "20261124T133100Z-1a2b3c4d"
    files = [(1, "000012.sst", 4096), (1, "CURRENT", 16), (1, "MANIFEST-000005", 700)]
    bodies = {
        "full": manifest_body(full, files),
        "incremental": manifest_body("20261125T010000Z-99aa", files[:1], parent=full),
        "empty": manifest_body(full, []),
        "extension": manifest_body(full, files[:1], ext=b"future"),
        "bad-kind": manifest_body(full, [(2, "000001.log", 10)]),
        "bad-name": manifest_body(full, [(1, "../etc/passwd", 10)]),
        "flag-without-parent": manifest_body(full, [])[:27] + b"\1",
    }
    for name, b in bodies.items():
        put("fuzz_manifest", name, b"\0" + b)
    # A stored manifest as manifest_seal writes it (fixed repo id and key of the target).
    head = b"WAIHUMF1" + struct.pack(">I", 1) + b"\x5a" * 16 + b"\x07" * 12
    aad = head + b"20261124T133100Z-1a2b3c4d"
    sealed = AESGCM(b"\x11" * 32).encrypt(b"\x07" * 12, bodies["full"], aad)
    put("fuzz_manifest", "stored", b"\1" + head + sealed)
    put("fuzz_manifest", "stored-truncated", b"\1" + head + sealed[:20])
    put("fuzz_manifest", "stored-other-repo", b"\1" + head[:12] + b"\1" * 16 + head[28:] + sealed)


def text_seeds():
    sdp = {
        "pcmu-pcma-te": "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                        "m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                        "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
                        "a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
        "pcma-only-media-c": "v=0\no=- 2 2 IN IP4 1.2.3.4\ns=x\nt=0 0\nm=audio 5004 RTP/AVP 8\n"
                             "c=IN IP4 192.168.1.9\n",
        "static-no-rtpmap": "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                            "t=0 0\r\nm=audio 20000 RTP/AVP 0\r\n",
        "hold": "v=0\r\no=- 3 4 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                "m=audio 4002 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n",
        "video-first": "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                       "m=video 4100 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                       "m=audio 0 RTP/AVP 0\r\nm=audio 4200 RTP/AVP 18 8\r\n",
        "ipv6": "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/AVP 0\r\n",
        "opus-only": "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n",
        "savp": "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/SAVP 0\r\na=inactive\r\n",
        "te-low-pt": "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                     "m=audio 4000 RTP/AVP 8 13\r\na=rtpmap:13 telephone-event/8000\r\n",
    }
    for n, t in sdp.items():
        put("fuzz_sdp", n, t)
    phones = {  # byte 0: index into {NULL, CN, US, CA, GB, UK, FR, ""}
        "cn-mobile": "\x01138 1234 5678", "cn-landline": "\x01010-12345678",
        "cn-3digit-area": "\x010755 8765 4321", "cn-intl-prefix": "\x010086 13812345678",
        "us": "\x02(415) 555-2671", "us-1": "\x031-415-555-2671", "us-011": "\x02011 44 20 7946 0958",
        "gb": "\x04020 7946 0958", "gb-short": "\x0501632 960 001", "intl-gb-trunk": "\x00+44 (0)20 7946 0958",
        "intl-fr": "\x00+33 1 23 45 67 89", "intl-cn-trunk": "\x07+86 0755 87654321",
        "no-country": "\x0613812345678", "letters": "\x011-800-FLOWERS", "two-plus": "\x01+86+138",
        "too-long": "\x01" + "1" * 40, "bytes": "\x01\xe2\x80\x8b138",
    }
    for n, t in phones.items():
        put("fuzz_phone", n, t.encode("latin-1"))
    bodies = {  # byte 0: country (CN US GB none) | 4: PATCH of a fixed record
        "create": '{"name":"Wang Fang","phone":"+86 138 0013 8000","address":"Beijing",'
                  '"notes":"call after 6pm","tags":["vip","lead"],"owner":"alice",'
                  '"department":"sales","source":"web","status":"new",'
                  '"last_contact":"2026-01-31T08:00:00Z","next_callback":"2026-02-01 09:30:00",'
                  '"fields":{"score":4.5,"birthday":"1990-05-01","tier":"silver","note2":"x"}}',
        "patch": '{"phone":null,"tags":[],"fields":{"score":null},"last_contact":null}',
        "bad-tag": '{"tags":["Not Ok"]}', "bad-time": '{"next_callback":"2026-02-30"}',
        "read-only": '{"id":"1","version":3}', "unknown-field": '{"fields":{"nope":1}}',
        "enum": '{"fields":{"tier":"platinum"}}', "date-only": '{"last_contact":"2026-03-01"}',
        "number-huge": '{"fields":{"score":1e308}}', "not-object": '[1,2]',
        "us-phone": '{"phone":"(415) 555-2671"}',
    }
    for i, (n, t) in enumerate(bodies.items()):
        put("fuzz_customer_json", n, bytes([4 if n == "patch" else i % 4]) + t.encode())
    filters = {
        "tags": "tag:a AND NOT tag:b", "relative": "last_contact < -30d",
        "issue": "tag:a AND NOT tag:b AND last_contact < -30d",
        "or-paren": "(tag:vip OR status = \"new\") AND owner != \"bob\"",
        "custom": "score >= 3.5 AND birthday < 2000-01-01 AND tier = \"gold\"",
        "callback": "next_callback > -2h AND next_callback <= 7d",
        "deep": "NOT (NOT (tag:a OR (tag:b AND (tag:c OR tag:d))))",
        "errors": "tag: AND (", "string-escape": "notes2 = \"a\\\"b\"",
    }
    for n, t in filters.items():
        put("fuzz_filter", n, t)
    csvs = {  # byte 0: encoding (0..2), 4 ';', 8 small limits, high bits chunking
        "basic": "\x00name,phone,note\r\nLi Lei,13812345678,hello\r\n\"Han, Meimei\",\"+86 139\",\"a \"\"quote\"\"\"\r\n",
        "semicolon": "\x04name;phone;a\nA;1;x\nB;2;\n",
        "bom": "\x00\xef\xbb\xbfname,phone\n\xe5\xbc\xa0\xe4\xb8\x89,13800000000\n",
        "gbk": "\x01name,phone\n\xd5\xc5\xc8\xfd,13800000000\n",
        "limits": "\x08name,phone,note,a,b,c,d\n" + "x" * 20 + ",1,2,3,4,5,6\n",
        "bad-quote": "\x00name,phone\n\"open,1\n", "missing-col": "\x00name\nA\n",
        "latin": "\x02name,phone\nJos\xe9,1\n",
    }
    for n, t in csvs.items():
        put("fuzz_csv", n, t.encode("latin-1"))
    trunks = {
        "doc": '{"health": {"down_consecutive": 5, "hold_ms": 30000}, "trunks": [{"name": "ct-a", '
               '"target": "127.0.0.1:5060", "weight": 3, "channels": 100, "cps": 30, "caller_ids": '
               '["+861012345678"], "cost_per_min": 0.012, "priority": 0}, {"name": "voip", '
               '"target": "sip.example.net:5061", "transport": "tls", "proxy": "10.0.0.1:5060", '
               '"channels": 30, "cps": 5, "caller_ids": ["+861012345679"], "priority": 10}]}',
        "ipv6": '{"trunks":[{"name":"v6","target":"[::1]:5060","channels":1,"cps":1,'
                '"caller_ids":["+4420794609580","+4420794609581"]}]}',
        "bad-weight": '{"trunks":[{"name":"a","target":"h:1","channels":1,"cps":1,'
                      '"caller_ids":["+1"],"weight":0}]}',
    }
    for n, t in trunks.items():
        put("fuzz_trunk_json", n, t)


def wav(samples, rate=8000, channels=1, bits=16):
    data = b"".join(struct.pack("<h", s) for s in samples)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * bits // 8,
                      channels * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def prompt_seeds():
    tone = [int(8000 * ((i % 20) - 10) / 10) for i in range(400)]
    put("fuzz_prompt", "tone", wav(tone))
    put("fuzz_prompt", "one-sample", wav([1]))
    put("fuzz_prompt", "16k", wav(tone[:40], rate=16000))
    put("fuzz_prompt", "stereo", wav(tone[:40], channels=2))
    w = wav(tone[:40])
    put("fuzz_prompt", "list-chunk", w[:36] + b"LIST" + struct.pack("<I", 4) + b"INFO" + w[36:])
    put("fuzz_prompt", "truncated", w[:50])


if __name__ == "__main__":
    store_seeds()
    manifest_seeds()
    text_seeds()
    prompt_seeds()
    sys.exit(0)
