import { describe, expect, it } from "vitest";
import { findBinaries } from "../binaries.ts";
import {
  checkNodes,
  checkTimings,
  DEFAULT_PATRONI_TIMINGS,
  etcdHostsOf,
  patroniMemberConfig,
  postBootstrapScript,
  renderConfig,
} from "./config.ts";

const node = {
  name: "s0n0",
  pgPort: 24110,
  restApiPort: 24120,
  gatewayUrl: "http://127.0.0.1:24130",
};

describe("Patroni member configuration", () => {
  const input = {
    scope: "s0",
    namespace: "/firstclick/patroni/",
    etcdUrls: ["http://127.0.0.1:24100"],
    node,
    dataDir: "/state/s0n0/data",
    memberDir: "/state/s0n0",
    pgBinDir: "/usr/lib/postgresql/15/bin",
    timings: DEFAULT_PATRONI_TIMINGS,
    synchronousMode: false,
    postBootstrap: "/state/post-bootstrap.sh",
  };
  const config = patroniMemberConfig(input);

  it("uses the etcd3 DCS, loopback addresses, pg_rewind, slots and the gateway tag", () => {
    expect(config).toMatchObject({
      scope: "s0",
      namespace: "/firstclick/patroni/",
      name: "s0n0",
      etcd3: { hosts: ["127.0.0.1:24100"], protocol: "http" },
      restapi: { listen: "127.0.0.1:24120", connect_address: "127.0.0.1:24120" },
      bootstrap: {
        dcs: {
          ttl: 5,
          loop_wait: 1,
          retry_timeout: 2,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: { wal_level: "replica", hot_standby: "on", wal_log_hints: "on" },
          },
        },
        initdb: [{ encoding: "UTF8" }, "no-locale"],
        post_bootstrap: "/state/post-bootstrap.sh",
      },
      postgresql: {
        listen: "127.0.0.1:24110",
        connect_address: "127.0.0.1:24110",
        data_dir: "/state/s0n0/data",
        bin_dir: "/usr/lib/postgresql/15/bin",
      },
      tags: { gateway_url: "http://127.0.0.1:24130" },
    });
  });

  it("keeps ordinary commits asynchronous in synchronous mode", () => {
    const sync = patroniMemberConfig({ ...input, synchronousMode: true });
    expect(sync).toMatchObject({
      bootstrap: {
        dcs: {
          synchronous_mode: true,
          postgresql: { parameters: { synchronous_commit: "local" } },
        },
      },
    });
  });

  it("renders JSON, which Patroni's YAML loader reads as is", () => {
    expect(JSON.parse(renderConfig(config))).toEqual(config);
  });
});

describe("bad settings are refused before anything starts", () => {
  it.each([
    [{ ttl: 5, loopWait: 1, retryTimeout: 3 }, /ttl \(5\) must be ≥/],
    [{ ttl: 0, loopWait: 1, retryTimeout: 2 }, /ttl must be > 0/],
    [{ ttl: 5.5, loopWait: 1, retryTimeout: 2 }, /whole seconds/],
    [{ ttl: 5, loopWait: Number.NaN, retryTimeout: 2 }, /loopWait must be > 0/],
  ])("timings %j", (timings, message) => {
    expect(() => checkTimings(timings)).toThrow(message);
  });

  it.each([
    [[], /at least one node/],
    [[{ ...node, name: "s0 n0" }], /member name/],
    [[node, { ...node, restApiPort: 24121, pgPort: 24111 }], /used twice/],
    [[node, { ...node, name: "s0n1", restApiPort: 24121 }], /"24110" is used twice/],
    [[{ ...node, pgPort: 70_000 }], /not a TCP port/],
    [[{ ...node, gatewayUrl: "ftp://127.0.0.1:1" }], /not an http\(s\) URL/],
  ])("nodes %j", (nodes, message) => {
    expect(() => checkNodes(nodes)).toThrow(message);
  });

  it.each(["127.0.0.1:2379", "https://127.0.0.1:2379", "http://127.0.0.1"])(
    "etcd URL %s",
    (url) => {
      expect(() => etcdHostsOf([url])).toThrow(/must look like/);
    },
  );

  it("SQL identifiers for the bootstrap script", () => {
    expect(() =>
      postBootstrapScript({ pgBinDir: "/b", database: "firstclick; drop", user: "firstclick" }),
    ).toThrow(/lower-case SQL identifier/);
    expect(postBootstrapScript({ pgBinDir: "/b", database: "app", user: "app_user" })).toContain(
      "CREATE DATABASE app OWNER app_user",
    );
  });

  it("a missing patroni says how to install it", async () => {
    const search = findBinaries({ binDirs: ["/nonexistent"], redis: false, patroni: true });
    await expect(search).rejects.toThrow(
      /missing system programs: .*patroni.*apt-get install -y .*patroni/,
    );
  });
});
