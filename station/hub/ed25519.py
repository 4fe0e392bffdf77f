"""Ed25519 signature verification (RFC 8032) in PL/pgSQL, so the hub itself refuses a forged push.

PostgreSQL has no Ed25519 of its own (pgcrypto does PGP, not Ed25519) and an extension or an
untrusted language (plpython3u) cannot be assumed on a campaign's database server. The hub must
nonetheless refuse, inside the push's own transaction, a push that is not signed by the key
enrolled for its station — otherwise a leaked database password would be enough to add facts that
every report from the hub counts. Verification needs only public data and exact integer
arithmetic, which PostgreSQL's ``numeric`` provides; SHA-512 is built in (``sha512``).

The check is the one OpenSSL (and so ``cryptography``) makes: the public key and R must be
canonical point encodings, S < L, k = SHA-512(R ‖ A ‖ M) mod L, and the encoding of
[S]B − [k]A must equal R. The tests compare it with ``cryptography`` on random keys and messages,
RFC 8032's test vectors and damaged signatures. It costs tens of milliseconds, once per push.
"""

from __future__ import annotations

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752
BASE_X = 15112221349535400772501151409588531511454012693041857206046113283949847762202
BASE_Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960

# Points are numeric[4]: extended twisted-Edwards coordinates (X, Y, Z, T), x = X/Z, y = Y/Z,
# x*y = T/Z. The addition formula is complete on this curve, so it also doubles.
FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION hub.ed_pow(b numeric, e numeric) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE r numeric := 1; x numeric := mod(b, {P});
BEGIN
  WHILE e > 0 LOOP
    IF mod(e, 2) = 1 THEN r := mod(r * x, {P}); END IF;
    x := mod(x * x, {P});
    e := div(e, 2);
  END LOOP;
  RETURN r;
END $$;

CREATE OR REPLACE FUNCTION hub.ed_add(a numeric[], b numeric[]) RETURNS numeric[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE p constant numeric := {P};
  aa numeric; bb numeric; cc numeric; dd numeric; e numeric; f numeric; g numeric; h numeric;
BEGIN
  aa := mod((a[2] - a[1] + p) * (b[2] - b[1] + p), p);
  bb := mod((a[2] + a[1]) * (b[2] + b[1]), p);
  cc := mod(mod(a[4] * {2 * D}, p) * b[4], p);
  dd := mod(2 * a[3] * b[3], p);
  e := bb - aa + p; f := dd - cc + p; g := dd + cc; h := bb + aa;
  RETURN ARRAY[mod(e * f, p), mod(g * h, p), mod(f * g, p), mod(e * h, p)];
END $$;

CREATE OR REPLACE FUNCTION hub.ed_int(b bytea) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE n numeric := 0;
BEGIN
  FOR i IN REVERSE length(b) - 1 .. 0 LOOP
    n := n * 256 + get_byte(b, i);
  END LOOP;
  RETURN n;
END $$;

-- The point a 32-byte encoding stands for, or NULL if it is not a canonical encoding of one.
CREATE OR REPLACE FUNCTION hub.ed_decode(s bytea) RETURNS numeric[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE p constant numeric := {P};
  sign int; y numeric; u numeric; v numeric; x numeric; vx2 numeric;
BEGIN
  IF length(s) <> 32 THEN RETURN NULL; END IF;
  sign := get_byte(s, 31) >> 7;
  y := hub.ed_int(set_byte(s, 31, get_byte(s, 31) & 127));
  IF y >= p THEN RETURN NULL; END IF;
  u := mod(y * y - 1 + p, p);
  v := mod({D} * y * y + 1, p);
  x := mod(mod(u * hub.ed_pow(v, 3), p)
           * hub.ed_pow(mod(u * hub.ed_pow(v, 7), p), {(P - 5) // 8}), p);
  vx2 := mod(v * x * x, p);
  IF vx2 = u THEN
    NULL;
  ELSIF vx2 = mod(p - u, p) THEN
    x := mod(x * {SQRT_M1}, p);
  ELSE
    RETURN NULL;
  END IF;
  IF x = 0 AND sign = 1 THEN RETURN NULL; END IF;
  IF mod(x, 2) <> sign THEN x := p - x; END IF;
  RETURN ARRAY[x, y, 1, mod(x * y, p)];
END $$;

CREATE OR REPLACE FUNCTION hub.ed_encode(q numeric[]) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE p constant numeric := {P};
  zi numeric := hub.ed_pow(q[3], {P - 2}); x numeric; y numeric;
  out bytea := '\\x0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
  x := mod(q[1] * zi, p);
  y := mod(q[2] * zi, p);
  FOR i IN 0 .. 31 LOOP
    out := set_byte(out, i, mod(y, 256)::int);
    y := div(y, 256);
  END LOOP;
  IF mod(x, 2) = 1 THEN out := set_byte(out, 31, get_byte(out, 31) | 128); END IF;
  RETURN out;
END $$;

-- True when sig (64 bytes) is an Ed25519 signature of msg by the raw 32-byte public key pub.
CREATE OR REPLACE FUNCTION hub.ed25519_verify(pub bytea, msg bytea, sig bytea) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE p constant numeric := {P};
  a numeric[]; s numeric; k numeric; q numeric[] := ARRAY[0, 1, 1, 0]::numeric[];
  base numeric[] := ARRAY[{BASE_X}, {BASE_Y}, 1, {BASE_X * BASE_Y % P}]::numeric[];
  sbits int[] := '{{}}'; kbits int[] := '{{}}';
BEGIN
  IF length(pub) <> 32 OR length(sig) <> 64 THEN RETURN false; END IF;
  a := hub.ed_decode(pub);
  IF a IS NULL OR hub.ed_decode(substr(sig, 1, 32)) IS NULL THEN RETURN false; END IF;
  s := hub.ed_int(substr(sig, 33, 32));
  IF s >= {L} THEN RETURN false; END IF;
  k := mod(hub.ed_int(sha512(substr(sig, 1, 32) || pub || msg)), {L});
  a := ARRAY[p - a[1], a[2], a[3], p - a[4]];            -- -A
  FOR i IN 1 .. 256 LOOP
    sbits := sbits || mod(s, 2)::int; s := div(s, 2);
    kbits := kbits || mod(k, 2)::int; k := div(k, 2);
  END LOOP;
  FOR i IN REVERSE 256 .. 1 LOOP                          -- [S]B + [k](-A), bits from the top
    q := hub.ed_add(q, q);
    IF sbits[i] = 1 THEN q := hub.ed_add(q, base); END IF;
    IF kbits[i] = 1 THEN q := hub.ed_add(q, a); END IF;
  END LOOP;
  RETURN hub.ed_encode(q) = substr(sig, 1, 32);
END $$;
"""
