// Rename tables between diffusers names (d) and original single-file names (l: the LDM /
// Stability layout), written once and used in both directions. A rule maps a prefix (or,
// without a trailing dot, one exact name); its optional `local` list renames what follows
// the prefix and is then exhaustive. A local entry may also say that the tensor is one
// third of a fused one (part), a 1x1 conv stored for a linear (conv1x1), or transposed.
export interface Local { d: string; l: string; part?: number; conv1x1?: boolean; transpose?: boolean }
export interface Rule { d: string; l: string; local?: Local[] }
export interface Mapped { name: string; part?: number; conv1x1?: boolean; transpose?: boolean }

function matches(name: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!prefix.endsWith('.')) return name === prefix;
  return name.startsWith(prefix);
}

function pieceMatches(rest: string, piece: string): boolean {
  return rest === piece || rest.startsWith(piece + '.');
}

export class NameMap {
  private readonly byD: Rule[];
  private readonly byL: Rule[];

  constructor(readonly rules: Rule[]) {
    this.byD = [...rules].sort((a, b) => b.d.length - a.d.length);
    this.byL = [...rules].sort((a, b) => b.l.length - a.l.length);
  }

  /** diffusers name -> single-file name (with how the tensor sits inside it), or null if unknown. */
  toLdm(d: string): Mapped | null {
    const r = this.byD.find((x) => matches(d, x.d));
    if (!r) return null;
    const rest = d.slice(r.d.length);
    if (!r.local) return { name: r.l + rest };
    let best: Local | undefined;
    for (const e of r.local) if (pieceMatches(rest, e.d) && (!best || e.d.length > best.d.length)) best = e;
    if (!best) return null;
    return { ...flags(best), name: r.l + best.l + rest.slice(best.d.length) };
  }

  /** single-file name -> diffusers name(s): several when a fused tensor splits into parts. */
  toDiffusers(l: string): Mapped[] {
    const r = this.byL.find((x) => matches(l, x.l));
    if (!r) return [];
    const rest = l.slice(r.l.length);
    if (!r.local) return [{ name: r.d + rest }];
    let bestLen = -1;
    for (const e of r.local) if (pieceMatches(rest, e.l)) bestLen = Math.max(bestLen, e.l.length);
    return r.local
      .filter((e) => e.l.length === bestLen && pieceMatches(rest, e.l))
      .map((e) => ({ ...flags(e), name: r.d + e.d + rest.slice(e.l.length) }));
  }
}

function flags(e: Local): Omit<Mapped, 'name'> {
  const o: Omit<Mapped, 'name'> = {};
  if (e.part !== undefined) o.part = e.part;
  if (e.conv1x1) o.conv1x1 = true;
  if (e.transpose) o.transpose = true;
  return o;
}
