// Where the embedded tiny default model lives: weights/default beside src/ in a checkout,
// beside dist/ in the installed package (both are one level below the package root).
import { fileURLToPath } from 'node:url';

/** The embedded tiny model (random weights: its images are noise by design). */
export const EMBEDDED_MODEL = fileURLToPath(new URL('../../weights/default', import.meta.url));
