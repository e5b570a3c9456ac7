import { Etcd3 } from "etcd3";

/**
 * An etcd3 client as every part of the origin wants one: each unary call (get, put, grant, txn)
 * and each connection attempt bounded by `callTimeoutMs`, streams (watches, lease keepalives)
 * never, since they live as long as the client.
 */
export function etcdClient(endpoints: readonly string[], callTimeoutMs: number): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + callTimeoutMs },
  });
}
