import type { Metafile } from 'esbuild'
export interface BuildOptions {
  /** Copy models/default beside the page (default true). */
  readonly models?: boolean
  /** Write source maps (default true). */
  readonly sourcemap?: boolean
}
/** Builds `entries` ({ name: path }) and the playground into `outdir`; resolves to esbuild's metafile. */
export declare const buildWeb: (outdir: string, entries?: Record<string, string>, options?: BuildOptions) => Promise<Metafile>
