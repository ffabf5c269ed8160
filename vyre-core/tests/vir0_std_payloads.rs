//! The built-in payloads as `#[vyre::payload]` compiles them (macro output,
//! exported with `vyre compile --payload NAME -o X.vir0 && vyre disasm X.vir0`),
//! kept as text so this crate can test them without depending on the
//! facade. Each must parse, validate, round-trip through VIR0 and text
//! exactly, and keep the recorded digest: a changed digest means the VIR0
//! format changed (bump `vir0::VERSION`) or this IR did (re-export it).

use vyre_core::vir0::{decode, decode_payload, encode_payload, Module};

/// `(name, digest, text)`: `vyre disasm` output without its comment line.
const PAYLOADS: &[(&str, &str, &str)] = &[
    (
        "line_count",
        "9c14c5889ac9fe4738ea7bd603c6aac96271b10af3615239e31dc47f15633ad5",
        r"payload line_count look_behind 0
param data: bytes
param counts: accumulator[1]
param lanes: lanes
{
  let n = 0u
  for i in select(lt(add(0u, lanes__id), 0u), 4294967295u, add(0u, lanes__id))..data__len step lanes__count {
    if eq(bitand(shr(data[select(lt(i, data__len), shr(add(data__off, i), 2u), 4294967295u)], shl(bitand(add(data__off, i), 3u), 3u)), 255u), 10u) {
      n = add(n, 1u)
    }
  }
  if ne(n, 0u) {
    eval atomic_add(counts[select(lt(0u, counts__len), add(counts__off, 0u), 4294967295u)], n)
  }
}
",
    ),
    (
        "byte_histogram",
        "7148590d590407f1fcbfce51be0a0af29c192efb9c13eea7b24c7cbcddefed65",
        r"payload byte_histogram look_behind 0
param data: bytes
param bins: accumulator[256]
param lanes: lanes
{
  for i in select(lt(add(0u, lanes__id), 0u), 4294967295u, add(0u, lanes__id))..data__len step lanes__count {
    let b = bitand(shr(data[select(lt(i, data__len), shr(add(data__off, i), 2u), 4294967295u)], shl(bitand(add(data__off, i), 3u), 3u)), 255u)
    eval atomic_add(bins[select(lt(b, bins__len), add(bins__off, b), 4294967295u)], 1u)
  }
}
",
    ),
    (
        "count_needle",
        "47777635f96fe862c8e40975fc87053bd7ca4284e2f8e3c8e6500c64a82fa6ee",
        r"payload count_needle look_behind 3
param data: bytes
param start: chunk_start
param count: accumulator[1]
param lanes: lanes
{
  let n = 4u
  let len = data__len
  let found = 0u
  let t__0 = max(start, sub(n, 1u))
  for end in select(lt(add(t__0, lanes__id), t__0), 4294967295u, add(t__0, lanes__id))..len step lanes__count {
    let first = sub(add(end, 1u), n)
    let k = 0u
    loop {
      if not(and(lt(k, n), eq(bitand(shr(data[select(lt(add(first, k), data__len), shr(add(data__off, add(first, k)), 2u), 4294967295u)], shl(bitand(add(data__off, add(first, k)), 3u), 3u)), 255u), select(eq(k, 0u), 97u, select(eq(k, 1u), 98u, select(eq(k, 2u), 97u, select(eq(k, 3u), 98u, 0u))))))) {
        break
      }
      k = add(k, 1u)
    }
    if eq(k, n) {
      found = add(found, 1u)
    }
  }
  if ne(found, 0u) {
    eval atomic_add(count[select(lt(0u, count__len), add(count__off, 0u), 4294967295u)], found)
  }
}
",
    ),
    (
        "crc32",
        "a44070e39306219751cc3bdb6460d53199f19827134b5c93aa000e9d3d44c4ff",
        r"payload crc32 look_behind 0
param data: bytes
param state: output[1]
param lanes: lanes
{
  if ne(lanes__id, 0u) {
    return
  }
  let crc = state[select(lt(0u, state__len), add(state__off, 0u), 4294967295u)]
  for i in 0u..data__len {
    crc = bitxor(crc, bitand(shr(data[select(lt(i, data__len), shr(add(data__off, i), 2u), 4294967295u)], shl(bitand(add(data__off, i), 3u), 3u)), 255u))
    for unused in 0u..8u {
      if ne(bitand(crc, 1u), 0u) {
        crc = bitxor(shr(crc, 1u), 3988292384u)
      } else {
        crc = shr(crc, 1u)
      }
    }
  }
  state[select(lt(0u, state__len), add(state__off, 0u), 4294967295u)] = crc
}
",
    ),
    (
        "non_ascii_count",
        "441e0a139d9f2ed749db518d7c2e8cc0d0670626b24465bd29c1dba790fd2632",
        r"payload non_ascii_count look_behind 0
param data: bytes
param count: accumulator[1]
param lanes: lanes
{
  let n = 0u
  for i in select(lt(add(0u, lanes__id), 0u), 4294967295u, add(0u, lanes__id))..data__len step lanes__count {
    n = add(n, shr(bitand(shr(data[select(lt(i, data__len), shr(add(data__off, i), 2u), 4294967295u)], shl(bitand(add(data__off, i), 3u), 3u)), 255u), 7u))
  }
  if ne(n, 0u) {
    eval atomic_add(count[select(lt(0u, count__len), add(count__off, 0u), 4294967295u)], n)
  }
}
",
    ),
    (
        "crc32_blocks",
        "115e714f84803ddf6ab4126c88f00f1f075b4257510157383cf746274c3eb2c1",
        r"payload crc32_blocks look_behind 0
param data: bytes
param parts: output[256]
param lanes: lanes
{
  let n = lanes__count
  let id = lanes__id
  let len = data__len
  let block = div(sub(add(len, n), 1u), n)
  let start = mul(id, block)
  let end = min(add(start, block), len)
  let crc = 4294967295u
  let i = start
  loop {
    if not(lt(i, end)) {
      break
    }
    crc = bitxor(crc, bitand(shr(data[select(lt(i, data__len), shr(add(data__off, i), 2u), 4294967295u)], shl(bitand(add(data__off, i), 3u), 3u)), 255u))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    crc = bitxor(shr(crc, 1u), bitand(3988292384u, sub(0u, bitand(crc, 1u))))
    i = add(i, 1u)
  }
  parts[select(lt(id, parts__len), add(parts__off, id), 4294967295u)] = bitnot(crc)
}
",
    ),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn builtin_payloads_round_trip_with_stable_digests() {
    for (name, digest, text) in PAYLOADS {
        let m = Module::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.name(), *name);
        m.validate().unwrap_or_else(|d| panic!("{name}: {d:?}"));
        assert_eq!(
            m.to_string(),
            *text,
            "{name}: text form is not a fixed point"
        );
        let bytes = m.encode();
        assert_eq!(hex(&m.digest()), *digest, "{name}: VIR0 digest changed");
        assert_eq!(hex(&bytes[bytes.len() - 32..]), *digest);
        assert_eq!(decode(&bytes).unwrap(), m, "{name}");
        let Module::Payload(p) = &m else {
            panic!("{name} is not a payload")
        };
        assert_eq!(&decode_payload(&encode_payload(p)).unwrap(), p);
    }
}
