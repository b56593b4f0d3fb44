import type { Metafile } from 'esbuild'
/** Builds `entries` ({ name: path }) and the playground into `outdir`; resolves to esbuild's metafile. */
export declare const buildWeb: (outdir: string, entries?: Record<string, string>) => Promise<Metafile>
