// Reader for sentencepiece's `spiece.model` (a serialized ModelProto), just the fields a
// Unigram encoder needs. Wire format: each field is a varint tag (field << 3 | wire type)
// followed by a varint (0), 8 bytes (1), a varint length + bytes (2) or 4 bytes (5).
// https://github.com/google/sentencepiece/blob/master/src/sentencepiece_model.proto
import { EngineError } from '../errors.ts';
import { PieceType, type Piece } from './unigram.ts';

export class ProtoReader {
  private pos = 0;
  private view: DataView;
  constructor(private buf: Uint8Array, private where: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean { return this.pos >= this.buf.length; }

  private bad(what: string): never {
    throw new EngineError(`tokenizer: ${this.where}: malformed protobuf (${what} at byte ${this.pos})`);
  }

  varint(): bigint {
    let v = 0n, shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) this.bad('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) this.bad('varint longer than 10 bytes');
    }
  }

  tag(): { field: number; wire: number } {
    const t = Number(this.varint());
    return { field: t >>> 3, wire: t & 7 };
  }

  int32(): number { return Number(BigInt.asIntN(32, this.varint())); }

  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) this.bad(`field of ${n} bytes past the end`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string { return new TextDecoder().decode(this.bytes()); }

  float(): number {
    if (this.pos + 4 > this.buf.length) this.bad('truncated float');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else this.bad(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) this.bad('field past the end');
  }

  // Reads fields until the end, giving each to `on`, which returns false to skip it.
  each(on: (field: number, wire: number) => boolean): void {
    while (!this.done) {
      const { field, wire } = this.tag();
      if (!on(field, wire)) this.skip(wire);
    }
  }
}

export interface SpModel {
  pieces: Piece[];
  modelType: number; // 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
  unkId: number;
  eosId: number;
  padId: number;
  byteFallback: boolean;
  charsmap?: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export function parseSentencePieceModel(buf: Uint8Array, where: string): SpModel {
  const m: SpModel = {
    pieces: [], modelType: 1, unkId: 0, eosId: 2, padId: -1, byteFallback: false,
    addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true,
  };
  const r = new ProtoReader(buf, where);
  r.each((field, wire) => {
    if (wire !== 2) return false;
    if (field === 1) m.pieces.push(parsePiece(new ProtoReader(r.bytes(), where), m.pieces.length, where));
    else if (field === 2) {
      const t = new ProtoReader(r.bytes(), where);
      t.each((f, w) => {
        if (w !== 0) return false;
        if (f === 3) m.modelType = t.int32();
        else if (f === 35) m.byteFallback = t.varint() !== 0n;
        else if (f === 40) m.unkId = t.int32();
        else if (f === 42) m.eosId = t.int32();
        else if (f === 43) m.padId = t.int32();
        else return false;
        return true;
      });
    } else if (field === 3) {
      const n = new ProtoReader(r.bytes(), where);
      n.each((f, w) => {
        if (f === 2 && w === 2) m.charsmap = n.bytes();
        else if (f === 3 && w === 0) m.addDummyPrefix = n.varint() !== 0n;
        else if (f === 4 && w === 0) m.removeExtraWhitespaces = n.varint() !== 0n;
        else if (f === 5 && w === 0) m.escapeWhitespaces = n.varint() !== 0n;
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  if (m.pieces.length === 0) throw new EngineError(`tokenizer: ${where} holds no pieces (not a sentencepiece model?)`);
  return m;
}

function parsePiece(r: ProtoReader, index: number, where: string): Piece {
  let piece: string | undefined, score = 0, type: number = PieceType.Normal;
  r.each((f, w) => {
    if (f === 1 && w === 2) piece = r.string();
    else if (f === 2 && w === 5) score = r.float();
    else if (f === 3 && w === 0) type = r.int32();
    else return false;
    return true;
  });
  if (piece === undefined) throw new EngineError(`tokenizer: ${where}: piece ${index} has no text`);
  if (type < PieceType.Normal || type > PieceType.Byte) {
    throw new EngineError(`tokenizer: ${where}: piece ${index} '${piece}' has unknown type ${type}`);
  }
  return { piece, score, type: type as PieceType };
}
