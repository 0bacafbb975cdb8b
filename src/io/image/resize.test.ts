// resizeBicubic against Pillow's Image.resize(size, BICUBIC[, box]) (expected bytes made with Pillow 9.4,
// whose Resample.c is the one the fixtures used), plus the fixture-independent properties and its speed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { precomputeCoeffs, resizeBicubic } from "./resize.js";
import type { RgbImage } from "./rgb-image.js";

/** A test picture with steps and 0/255 spikes, so that the kernel's negative lobes hit the clamps. */
function pattern(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let v = (x * 37 + y * 91 + c * 53 + ((x * y) % 17) * 13) % 256;
        if ((x + y) % 7 === 0) v = 255;
        else if ((x + y) % 11 === 0) v = 0;
        data[(y * w + x) * 3 + c] = v;
      }
    }
  }
  return { width: w, height: h, data };
}

interface Case {
  src: [number, number];
  out: [number, number];
  box?: [number, number, number, number];
  expected: string;
}

// Shrink both ways, grow both ways, vertical pass only, horizontal pass only, a fractional box, and mixed.
const PILLOW_CASES: Case[] = [
  {
    src: [23, 17],
    out: [7, 5],
    expected:
      "ipWQqKmkfXZ1foeKfpCme4yUdoFulKWRi256fG53kIWujXyObYCBhIqXh1d3dWRxl5KSfYSId312ioCEqa+lhH99pnmdkXaGeoiJiIqZjZOdeGZom4l9mWOFeoeDksa3q7OYZ3hlmoaT",
  },
  {
    src: [9, 6],
    out: [20, 13],
    expected:
      "////8PP0dJOwFkyEHVScPnPATY3SXangdb36k8z/qOHfuP9ZxuIK0FIN3AA7/3Go//n/r9j1M3ipAFSM5+750d7vc5nBLmecOneYW5Cfb5Ktf4/AhJvbga7viMTRmuJqsNExzm4/5jZl/JGl9/rctczIWWmWM0KDiarhhq7mbqnrZKzYfsqPoNhRwJ1U0lF0p0iTVmayOn+1TpaSeqeJyq+y/7vI+t2b2P1lxK9eskFrqhNvVpCwYpe/gajonr7oq+WIuPAu26Ay8jlZtilpSE51ImiNPXqybZrUu9X+7/7+1/ubsu8wxKEm6ERG9hxSj9ZUnr9iyYiF2GWbn4GFa59xfZCMoHerln+Gc5k+ebJOqsK4u87zlr/rdrLPd7axicSNrLhh06U55J0mrvsZvtEm6W1C7SdkjTx/NmebPYTFaZ/gib+jp94zzPY8/f/B8fP/hZ7IL2CXPHK8aJ3eiL6Wotovr+gEXaA2bY5Ik2R3qVCTint1b6NZgYdwo2GWwJCa2O+O5/+i4f/nztr8rni0jTZ/c1quXpDeUo+PT3oYUHkADEJwG0+DPW62ZJTChslop98Wy48e7C5Q/FyS/t3k6f/+qen/lbTs1mKd+C5oslOPVYC4Ild3CRMUAgIAHVGyMWirYqOfhs2GdMBTbKYyqpNX94OU/4Ss/42y2JS6gqfbaabWvpSB73s+lmNOJ0plDDleFy1QHC9XV4zmbqPDqd9uv/U0Y55IH1d2cZi77fT4/73K7DRduhROaVmhTJi3j81is9UUX3QJAg8LDidJRXCeWY3EkcKuk8iYmtBil8tJcaJ8X4O2mqLS88jZ8KC3x0h5pCxri0SMeGOGcJA+ZpsCVE0ARQAHRyZQUnmvVprXx/JDrOFPZZ1oR3qNjbXL3Obw6qvE/VeB2VyOm5LHlY3FyE6KxCRRWyAdFSABXRAOtQYwmDBmUmqfN4K53/8Vt+0wUIhqJViqmb3t/////7C//yhcz0B9iLDnjrXq4lCI5Qc5UAAPAAAAYAAV5QhAuzRvU2SaK3mu",
  },
  {
    src: [23, 17],
    out: [23, 9],
    expected:
      "t9LYY4S6e7B4pm6kXZW4ksN03oaj2/aaj09yKmaXPVl2PFl2u/gx5oKeiqXAOnqvcKXFmFaLTIM7jL9y43yUe3yJZoAkYZhctm+YbaRQumuewNR4tdn+oHOXXZupd3IVWgYkP2qUvd//7KCfOG6bUJG8mmqfdaxncH6zjavbg4mZTl9yS4ROVYySc6qMeb5vg6Sa/5arxG6jimOZeWsTTw4uNm2f8mGAjKbBoMv27BNNUojGwJZKSE2DiarTkqaoZHQnP3WhrGCYmHN6fbFvjbGa1KPDY429i4s7FkluPx45QW9Mxbfc15+6n9R2ADpwgrjuNDtxj8ar/mCKkp+oSl9sjmYSSH97hWujRoK/ybHbyuu5v1+Oq1SRlTlhASJESTBXw3CXxeO3g2mTuKhWR4S+shpUj8Z2UoCnrbt/XHiGCTFen48/kYJ3nEuHtpzD0uvFptd2mYp6TnioWSkIlTRZlsVo/5KtinOXmk+MppBAU5fNSUV958BppLG+XmZuhSNPycR1Z6Whf2SaZpd0lLLMtqzQXZM8o1SShWSVOVxPXZhlu9r2znWSpo/DelyTh4jFUGCTwGmW0IObb39YWHmiW5HHQHOrYjxy5o1grM/tstSAcHSpo06LT3tTQl1InD1VxOGjym2glk2IiUF4gEuAbTBn26VX1oWYf3qAX4YnkcYZm9KMfbPqeqfenszBs9HUZ5mmWpObgUl2YSMaQlp8286Cq5y+jb55dZhPjK1inj90sFCFwMbgeYZzJUhgW4/CdKvOf7TfkMXlyOL93/uYz4A5zIREZptZZoAkCTBMzu+OocDeoFqVnl+W",
  },
  {
    src: [23, 17],
    out: [10, 17],
    expected:
      "fZ6/Y6PRzqZqlJK6PHKXqHownpXAYKOhzLU2mm6Ah729pm9diLDDxo9cKzldud6TV4i3fEiAXXijg5ZFt3tVfaOap8e2aJVjUXSFk7PYZpyterCPgpGoNF+JSYGD36B8yJ7RUyhLlWaLrniheVKKg5S+boCEX5Zbf72Bsoymf3xVT01K1Z/EpXOVXZhqgp23h2GOmZtukLyC2o28hSVLiFF2d6HGrmWdoW2idYpeUHhoo2ekfpy7VIVIDzBTs9TLWo1sVHq604elUHUnP3ipocLj7Z7AMU1+apZj5KCeRWmtaZ1+gpJ0jFCGv3u20vGrsU6DUSVFtHKcdKp4pG5Vg56GO1lTe3xetJW2lsmBZyhSWS5SvpCwh2WblmWblaGuYmucooBSptWgn3FyY01uyqtklG5/dopjj8KFnFtVnqx/S3urgpzDmV6VVH0s3bDDwleNaIC3t3iJNVKAuoxio8fWn2ZSUXNfTHehx3+lXJrRmWGOgXyJUZHIhlKF096VUY+7Yx07wN2XTInEdz933W6Jb5tNc6vfganKW1OGlQslq8pu5WmK0QA0zGE/hJtjksUAi720q8vyZJrRMk5plrTSR3yxToW8kK7MZH2Xe7Tvs9f1w/E4lsManrFc5z5rrOoV3V9Fm26EM2iXe7Lv2Oy4zz9LFiNGiafEaJ7T",
  },
  {
    src: [23, 17],
    out: [6, 8],
    box: [2.5, 1.25, 20, 15.5],
    expected:
      "mJyRoK2eVFxekK+0cI2jdoObyp2icmNokmSIp4Cjb3yPg4+lk3OCaEdciqGtkG6knIaOUHlbNktaoaiTeoGKapSOeHRokWiQfk1nooSUinuCkZCOYm1unp+Sz5eThXWOj42PeWdvnJ+MiZyujYCyj2Wbl4B0VYu7mo+liHWGkD90qYZ4fKlXmsrEmcuwX2di",
  },
  {
    src: [23, 17],
    out: [3, 40],
    expected:
      "jaKyg4WGnptzj6Csg4WGlpV2k5mdgYaDg4V9l5SOfomEcHmHlZqId5SRa4GTkqGFcZ2ga5CdlZyHdpCgbJGdnIyMhm+Vb4iTnYOMkWGNdISMk4aDknCLfYiMi4l7koCMhIqMloF9k3uRgoOGpHaDknCYfXl/lXWCi3OZeHqBant6f4KWcYSMVoB5d4yTdouUa4SEdouRkI6YhoOOd4eNqI+YjnWGeYZ+oY+SjV93fIRtjZCHilNygYFyiZGAg013iX2QlZV8gFJ5jn2gmZZ/iWhzj4eLjI+VlIBvjZF0foennYZ3jIp3gIWdo4OGinuIioeCoIGUhnWUjId6kH+kgXmdhoaFhX+sfn+hgoGLgoSnf4ShhXR9h4aYg4udh2hxn3J6iJqPfHCIw1JTjq58aoSyv05Wkrt+cZSwh2+UlcWcm6NyX4u9lsS0tqZHdo6ZlK6ynJBhm4lmkZaoeHiJqIhTkYylam6Y",
  },
];

test("matches Pillow byte for byte: shrink, grow, one pass only, fractional box, mixed", () => {
  for (const c of PILLOW_CASES) {
    const out = resizeBicubic(pattern(c.src[0], c.src[1]), c.out[0], c.out[1], c.box);
    const expected = Buffer.from(c.expected, "base64");
    assert.equal(out.data.length, expected.length);
    assert.deepEqual(Buffer.from(out.data), expected, `${c.src.join("×")} → ${c.out.join("×")}`);
  }
});

test("same size is a copy; a flat image stays flat; clamping keeps 0 and 255", () => {
  const img = pattern(5, 4);
  const same = resizeBicubic(img, 5, 4);
  assert.deepEqual(same.data, img.data);
  assert.notEqual(same.data, img.data, "a new buffer");
  for (const v of [0, 1, 127, 254, 255]) {
    const flat = { width: 13, height: 7, data: new Uint8Array(13 * 7 * 3).fill(v) };
    for (const [w, h] of [
      [4, 3],
      [30, 20],
      [13, 2],
      [1, 1],
    ] as const) {
      assert.ok(
        resizeBicubic(flat, w, h).data.every((x) => x === v),
        `flat ${v} → ${w}×${h}`,
      );
    }
  }
});

test("fixed-point weights of each window sum to 2^22 within rounding", () => {
  for (const [inSize, outSize] of [
    [4000, 384],
    [40, 56],
    [96, 63],
    [7, 3],
  ] as const) {
    const { ksize, bounds, weights } = precomputeCoeffs(inSize, 0, inSize, outSize);
    for (let i = 0; i < outSize; i++) {
      let sum = 0;
      for (let k = 0; k < bounds[i * 2 + 1]!; k++) sum += weights[i * ksize + k]!;
      assert.ok(Math.abs(sum - 2 ** 22) <= ksize, `${inSize}→${outSize} pixel ${i}: ${sum}`);
      assert.ok(bounds[i * 2]! >= 0 && bounds[i * 2]! + bounds[i * 2 + 1]! <= inSize);
    }
  }
});

test("a 4000×3000 photo resizes to 384×384 in a few passes' time over its bytes", () => {
  const w = 4000;
  const h = 3000;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  // The yardstick, measured in the same run: one weighted pass over every input byte (a separable resize's first
  // pass reads each byte about once per overlapping tap). The best of three of each, so a busy machine slows both.
  const weights = new Float32Array(8).fill(0.5);
  let resize = Number.POSITIVE_INFINITY;
  let pass = Number.POSITIVE_INFINITY;
  let acc = 0;
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now();
    const out = resizeBicubic({ width: w, height: h, data }, 384, 384);
    resize = Math.min(resize, performance.now() - t0);
    assert.equal(out.data.length, 384 * 384 * 3);
    t0 = performance.now();
    for (let i = 0; i < data.length; i++) acc += data[i]! * weights[i & 7]!;
    pass = Math.min(pass, performance.now() - t0);
  }
  assert.ok(acc > 0);
  // Measured at 2–5 passes on a loaded Zen 3; a resize that is not separable does about 40 times the work.
  assert.ok(resize < 12 * pass, `resize ${resize.toFixed(0)} ms, one pass ${pass.toFixed(0)} ms`);
});

test("bad sizes and boxes are usage errors", () => {
  const img = pattern(4, 4);
  assert.throws(() => resizeBicubic(img, 0, 4), /positive integers/);
  assert.throws(() => resizeBicubic(img, 2.5, 4), /positive integers/);
  assert.throws(() => resizeBicubic(img, 2, 2, [0, 0, 5, 4]), /not inside/);
  assert.throws(() => resizeBicubic({ width: 4, height: 4, data: new Uint8Array(3) }, 2, 2), /48 bytes/);
});
