/** Reading strace output for traffic that leaves the machine (no-network.test.ts, bench/chaos.ts). */

/** strace lines that are a connection or a datagram to anything but loopback (netlink is the kernel, not the network). */
export function outbound(trace: string): string[] {
  return trace.split('\n').filter((l) => /\b(connect|sendto|sendmsg|sendmmsg)\(/.test(l))
    .filter((l) => !/AF_NETLINK|AF_UNIX, sun_path="(?!\/var\/run\/nscd)/.test(l))
    .filter((l) => !/inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|sendto\(\d+, [^,]+, \d+, \w+, NULL/.test(l) || /htons\(53\)|nscd/.test(l));
}
