/** Types for bloomfilter 1.1.0 (Jason Davies; the package ships none): the part doorkeeper.ts uses. */
declare module "bloomfilter" {
  export class BloomFilter {
    constructor(bits: number, hashes: number);
    /** A filter sized for `n` items at a false-positive rate of `error`. */
    static withTargetError(n: number, error: number): BloomFilter;
    add(value: string): void;
    test(value: string): boolean;
    readonly buckets: Uint32Array;
  }
}
