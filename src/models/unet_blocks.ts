// The down / mid / up blocks of UNet2DConditionModel and of the AutoencoderKL
// encoder/decoder. Follows diffusers v0.31.0 src/diffusers/models/unets/unet_2d_blocks.py:
// https://github.com/huggingface/diffusers/blob/v0.31.0/src/diffusers/models/unets/unet_2d_blocks.py
import type { Node } from '../graph/graph.ts';
import type { WeightScope } from '../io/store.ts';
import type { GraphGuidance, GuidanceSite } from '../guidance/types.ts';
import { concat } from '../ops/index.ts';
import { Attention } from './attention.ts';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.ts';
import { Transformer2DModel, type TransformerOptions } from './transformer.ts';

/** What every UNet block shares. */
export interface BlockOptions {
  numLayers: number;
  tembChannels: number;
  eps: number;
  groups: number;
  outputScaleFactor: number;
}

/** Cross-attention settings of a block (absent for the plain blocks). */
export interface CrossAttnOptions extends Omit<TransformerOptions, 'dimHead'> {
  transformerLayers: number;
  useLinearProjection: boolean;
}

function transformer(ws: WeightScope, channels: number, b: BlockOptions, x: CrossAttnOptions, sites: GuidanceSite[]): Transformer2DModel {
  return new Transformer2DModel(ws, {
    ...x, dimHead: channels / x.heads, inChannels: channels, numLayers: x.transformerLayers, normNumGroups: b.groups,
  }, sites);
}

const resnet = (ws: WeightScope, cin: number, cout: number, b: BlockOptions) =>
  new ResnetBlock2D(ws, { inChannels: cin, outChannels: cout, tembChannels: b.tembChannels, groups: b.groups, eps: b.eps, outputScaleFactor: b.outputScaleFactor });

/** DownBlock2D, or CrossAttnDownBlock2D when `cross` is given. */
export class DownBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[] | null;
  readonly downsamplers: [Downsample2D] | null;

  constructor(ws: WeightScope, cin: number, cout: number, addDownsample: boolean, downsamplePadding: number,
    b: BlockOptions, cross: CrossAttnOptions | null, sites: GuidanceSite[]) {
    this.resnets = [];
    const attentions: Transformer2DModel[] = [];
    for (let i = 0; i < b.numLayers; i++) {
      this.resnets.push(resnet(ws.sub(`resnets.${i}`), i === 0 ? cin : cout, cout, b));
      if (cross) attentions.push(transformer(ws.sub(`attentions.${i}`), cout, b, cross, sites));
    }
    this.attentions = cross ? attentions : null;
    this.downsamplers = addDownsample ? [new Downsample2D(ws.sub('downsamplers.0'), cout, downsamplePadding)] : null;
  }

  // h [B, Cin, H, W] -> [B, Cout, H/2, W/2] and the skip states (one per layer + downsampler)
  forward(h: Node, temb: Node, context: Node | null, guidance?: GraphGuidance | null): { h: Node; states: Node[] } {
    const states: Node[] = [];
    this.resnets.forEach((r, i) => {
      h = r.forward(h, temb); // [B, Cout, H, W]
      if (this.attentions) h = this.attentions[i].forward(h, context!, guidance); // [B, Cout, H, W]
      states.push(h);
    });
    if (this.downsamplers) {
      h = this.downsamplers[0].forward(h); // [B, Cout, H/2, W/2]
      states.push(h);
    }
    return { h, states };
  }
}

/** UNetMidBlock2DCrossAttn: resnet, then (transformer, resnet) per layer. */
export class UNetMidBlock2DCrossAttn {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[];

  constructor(ws: WeightScope, channels: number, b: BlockOptions, cross: CrossAttnOptions, sites: GuidanceSite[]) {
    this.resnets = [resnet(ws.sub('resnets.0'), channels, channels, b)];
    this.attentions = [];
    for (let i = 0; i < b.numLayers; i++) {
      this.attentions.push(transformer(ws.sub(`attentions.${i}`), channels, b, cross, sites));
      this.resnets.push(resnet(ws.sub(`resnets.${i + 1}`), channels, channels, b));
    }
  }

  // h [B, C, H, W] -> same
  forward(h: Node, temb: Node, context: Node, guidance?: GraphGuidance | null): Node {
    h = this.resnets[0].forward(h, temb);
    this.attentions.forEach((a, i) => {
      h = a.forward(h, context, guidance);
      h = this.resnets[i + 1].forward(h, temb);
    });
    return h;
  }
}

/** UpBlock2D, or CrossAttnUpBlock2D when `cross` is given. b.numLayers = layers_per_block + 1. */
export class UpBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: Transformer2DModel[] | null;
  readonly upsamplers: [Upsample2D] | null;

  constructor(ws: WeightScope, cin: number, prevOut: number, cout: number, addUpsample: boolean,
    b: BlockOptions, cross: CrossAttnOptions | null, sites: GuidanceSite[]) {
    this.resnets = [];
    const attentions: Transformer2DModel[] = [];
    for (let i = 0; i < b.numLayers; i++) {
      const skip = i === b.numLayers - 1 ? cin : cout;
      const resIn = i === 0 ? prevOut : cout;
      this.resnets.push(resnet(ws.sub(`resnets.${i}`), resIn + skip, cout, b));
      if (cross) attentions.push(transformer(ws.sub(`attentions.${i}`), cout, b, cross, sites));
    }
    this.attentions = cross ? attentions : null;
    this.upsamplers = addUpsample ? [new Upsample2D(ws.sub('upsamplers.0'), cout)] : null;
  }

  // h [B, Cprev, H, W] + skips (consumed from the end) -> [B, Cout, 2H, 2W]
  forward(h: Node, skips: Node[], temb: Node, context: Node | null, guidance?: GraphGuidance | null): Node {
    this.resnets.forEach((r, i) => {
      const skip = skips.pop()!;
      h = concat([h, skip], 1); // [B, Cprev + Cskip, H, W]
      h = r.forward(h, temb); // [B, Cout, H, W]
      if (this.attentions) h = this.attentions[i].forward(h, context!, guidance);
    });
    if (this.upsamplers) h = this.upsamplers[0].forward(h); // [B, Cout, 2H, 2W]
    return h;
  }
}

// ---- AutoencoderKL blocks (no timestep embedding, GroupNorm eps 1e-6) -------------------

export interface VaeBlockOptions { numLayers: number; groups: number; eps: number }

const vaeResnet = (ws: WeightScope, cin: number, cout: number, o: VaeBlockOptions) =>
  new ResnetBlock2D(ws, { inChannels: cin, outChannels: cout, tembChannels: null, groups: o.groups, eps: o.eps });

/** DownEncoderBlock2D: resnets, then the asymmetric-pad downsampler (padding 0). */
export class DownEncoderBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly downsamplers: [Downsample2D] | null;
  constructor(ws: WeightScope, cin: number, cout: number, addDownsample: boolean, o: VaeBlockOptions) {
    this.resnets = Array.from({ length: o.numLayers }, (_, i) => vaeResnet(ws.sub(`resnets.${i}`), i === 0 ? cin : cout, cout, o));
    this.downsamplers = addDownsample ? [new Downsample2D(ws.sub('downsamplers.0'), cout, 0)] : null;
  }

  // h [B, Cin, H, W] -> [B, Cout, H/2, W/2]
  forward(h: Node): Node {
    for (const r of this.resnets) h = r.forward(h, null);
    return this.downsamplers ? this.downsamplers[0].forward(h) : h;
  }
}

/** UpDecoderBlock2D: resnets, then nearest x2 + conv. */
export class UpDecoderBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly upsamplers: [Upsample2D] | null;
  constructor(ws: WeightScope, cin: number, cout: number, addUpsample: boolean, o: VaeBlockOptions) {
    this.resnets = Array.from({ length: o.numLayers }, (_, i) => vaeResnet(ws.sub(`resnets.${i}`), i === 0 ? cin : cout, cout, o));
    this.upsamplers = addUpsample ? [new Upsample2D(ws.sub('upsamplers.0'), cout)] : null;
  }

  // h [B, Cin, H, W] -> [B, Cout, 2H, 2W]
  forward(h: Node): Node {
    for (const r of this.resnets) h = r.forward(h, null);
    return this.upsamplers ? this.upsamplers[0].forward(h) : h;
  }
}

/** UNetMidBlock2D of the VAE: resnet, single-head attention over H*W (residual inside), resnet. */
export class UNetMidBlock2D {
  readonly resnets: ResnetBlock2D[];
  readonly attentions: (Attention | null)[];
  constructor(ws: WeightScope, channels: number, addAttention: boolean, o: VaeBlockOptions) {
    this.resnets = [vaeResnet(ws.sub('resnets.0'), channels, channels, o), vaeResnet(ws.sub('resnets.1'), channels, channels, o)];
    this.attentions = [addAttention ? new Attention(ws.sub('attentions.0'), {
      queryDim: channels, heads: 1, dimHead: channels, bias: true, normNumGroups: o.groups, eps: o.eps, residualConnection: true,
    }) : null];
  }

  // h [B, C, H, W] -> same
  forward(h: Node): Node {
    h = this.resnets[0].forward(h, null);
    if (this.attentions[0]) h = this.attentions[0].forward(h); // attends over the H*W positions
    return this.resnets[1].forward(h, null);
  }
}
