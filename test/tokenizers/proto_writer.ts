// A tiny protobuf writer for tests: builds sentencepiece ModelProto bytes so the
// spiece.model reader can be checked without a binary fixture.
export class ProtoWriter {
  private out: number[] = [];

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    do {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      this.out.push(x > 0n ? b | 0x80 : b);
    } while (x > 0n);
  }

  int(field: number, v: number | boolean): this {
    this.varint(BigInt(field << 3));
    this.varint(BigInt(typeof v === 'boolean' ? (v ? 1 : 0) : v));
    return this;
  }

  float(field: number, v: number): this {
    this.varint(BigInt((field << 3) | 5));
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.out.push(...b);
    return this;
  }

  bytes(field: number, v: Uint8Array | string | ProtoWriter): this {
    const data = v instanceof ProtoWriter ? v.finish() : typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.varint(BigInt((field << 3) | 2));
    this.varint(BigInt(data.length));
    for (const x of data) this.out.push(x);
    return this;
  }

  finish(): Uint8Array { return Uint8Array.from(this.out); }
}

export interface SpPieceSpec { piece: string; score: number; type?: number; }

// ModelProto: 1 pieces {1 piece, 2 score, 3 type}, 2 trainer_spec {3 model_type,
// 40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id}, 3 normalizer_spec {1 name,
// 2 precompiled_charsmap, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces}.
export function buildSpModel(pieces: SpPieceSpec[], o: {
  modelType?: number; unkId: number; eosId: number; padId: number; charsmap?: Uint8Array;
  addDummyPrefix?: boolean; removeExtraWhitespaces?: boolean;
}): Uint8Array {
  const w = new ProtoWriter();
  for (const p of pieces) {
    const pw = new ProtoWriter().bytes(1, p.piece).float(2, p.score);
    if (p.type !== undefined && p.type !== 1) pw.int(3, p.type);
    w.bytes(1, pw);
  }
  w.bytes(2, new ProtoWriter().int(3, o.modelType ?? 1).int(40, o.unkId).int(41, -1).int(42, o.eosId).int(43, o.padId));
  const n = new ProtoWriter().bytes(1, 'nmt_nfkc');
  if (o.charsmap) n.bytes(2, o.charsmap);
  if (o.addDummyPrefix !== undefined) n.int(3, o.addDummyPrefix);
  if (o.removeExtraWhitespaces !== undefined) n.int(4, o.removeExtraWhitespaces);
  w.bytes(3, n);
  return w.finish();
}
