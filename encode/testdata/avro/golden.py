#!/usr/bin/env python3
# Writes the golden files of encode/testdata (message-pack and avro single-object
# encodings of the two captured frames, and the canonical form of the built-in
# schema) from the specifications alone, independently of the Go encoders.
# Run from encode/: python3 testdata/avro/golden.py schema/change_notification.avsc testdata
import json, struct, sys
digest = bytes.fromhex("5fe3b7c0f4669a77c8456c1bf4f1f68c55ac1002")

def mp_str(s): 
    b = s.encode(); assert len(b) < 32; return bytes([0xa0|len(b)]) + b
def mp_int(i):
    if 0 <= i < 128: return bytes([i])
    assert i > 2**31; return b'\xd3' + struct.pack('>q', i)
def mp_key():
    return b'\x94' + mp_str("test") + mp_str("myset") + b'\xc4\x14' + digest + mp_int(10)
W_LUT, D_LUT = 1734388704784, 1734388731220
mpw = b'\x93\x01\x01\x96' + mp_key() + mp_int(1) + mp_int(0) + mp_int(W_LUT) + b'\x93' + \
    b'\x94' + mp_str("name") + b'\x03\x00' + mp_str("colton") + \
    b'\x94' + mp_str("age") + b'\x01\x00' + mp_int(27) + \
    b'\x94' + mp_str("mapTest") + b'\x13\x00' + b'\x82' + mp_str("a") + b'\x01' + mp_str("b") + b'\x02' + \
    b'\xc2'
mpd = b'\x93\x01\x02\x94' + mp_key() + b'\x00' + mp_int(2) + mp_int(D_LUT)

def zz(i):
    u = (i << 1) ^ (i >> 63)
    u &= (1<<64)-1
    out = b''
    while u >= 0x80:
        out += bytes([(u & 0x7f) | 0x80]); u >>= 7
    return out + bytes([u])
def av_str(s):
    b = s.encode() if isinstance(s, str) else s
    return zz(len(b)) + b

# Parsing Canonical Form, straight from the spec's rules.
def pcf(s, ns, seen):
    if isinstance(s, str):
        prim = {"null","boolean","int","long","float","double","bytes","string"}
        if s in prim: return json.dumps(s)
        full = s if '.' in s else (ns + '.' + s if ns else s)
        return json.dumps(full)
    if isinstance(s, list):
        return '[' + ','.join(pcf(x, ns, seen) for x in s) + ']'
    t = s['type']
    if t in ("record", "enum", "fixed"):
        name = s['name']
        if '.' in name: full = name
        else:
            n2 = s.get('namespace', ns)
            full = n2 + '.' + name if n2 else name
        ns2 = full.rsplit('.', 1)[0] if '.' in full else ''
        if full in seen: return json.dumps(full)
        seen.add(full)
        if t == 'record':
            fs = ','.join('{"name":%s,"type":%s}' % (json.dumps(f['name']), pcf(f['type'], ns2, seen)) for f in s['fields'])
            return '{"name":%s,"type":"record","fields":[%s]}' % (json.dumps(full), fs)
        if t == 'enum':
            return '{"name":%s,"type":"enum","symbols":[%s]}' % (json.dumps(full), ','.join(json.dumps(x) for x in s['symbols']))
        return '{"name":%s,"type":"fixed","size":%d}' % (json.dumps(full), s['size'])
    if t == 'array': return '{"type":"array","items":%s}' % pcf(s['items'], ns, seen)
    if t == 'map': return '{"type":"map","values":%s}' % pcf(s['values'], ns, seen)
    return pcf(t, ns, seen)  # primitive in object form (logicalType stripped)

# CRC-64-AVRO (Rabin), from the spec's reference code.
EMPTY = 0xc15d213aa4d7a795
table = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    table.append(fp & 0xffffffffffffffff)
def fingerprint(b):
    fp = EMPTY
    for c in b:
        fp = (fp >> 8) ^ table[(fp ^ c) & 0xff]
    return fp

schema = json.load(open(sys.argv[1]))
canon = pcf(schema, '', set())
fp = fingerprint(canon.encode())
soe = b'\xc3\x01' + struct.pack('<Q', fp)
def av_head(kind, gen, lut, exp, durable, partial):
    return zz(kind) + av_str("test") + zz(1) + av_str("myset") + zz(1) + zz(10) + digest + zz(gen) + zz(lut) + zz(exp) + bytes([durable, partial])
avw = soe + av_head(0, 1, W_LUT, 0, 0, 0) + zz(3) + \
    av_str("name") + zz(3) + zz(4) + av_str("colton") + \
    av_str("age") + zz(1) + zz(2) + zz(27) + \
    av_str("mapTest") + zz(19) + zz(11) + zz(0) + zz(2) + zz(4) + av_str("a") + zz(2) + zz(1) + zz(4) + av_str("b") + zz(2) + zz(2) + zz(0) + \
    zz(0)
avd = soe + av_head(1, 2, D_LUT, 0, 0, 0) + zz(0)
out = sys.argv[2]
open(out + '/msgpack/write-3bins-key10.hex', 'w').write(mpw.hex() + '\n')
open(out + '/msgpack/delete-key10.hex', 'w').write(mpd.hex() + '\n')
open(out + '/avro/write-3bins-key10.hex', 'w').write(avw.hex() + '\n')
open(out + '/avro/delete-key10.hex', 'w').write(avd.hex() + '\n')
open(out + '/avro/change_notification.canonical.json', 'w').write(canon + '\n')
print("fingerprint %016x" % fp)
