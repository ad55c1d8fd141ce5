// The parts of the way into a guest that need no guest: macOS's DHCP leases (VZ NAT), the host
// keys cloud-init prints on the console, and the port forwards QEMU lists.
#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/host.hpp>

#include <gtest/gtest.h>

namespace {

// /var/db/dhcpd_leases as bootpd writes it: one block per lease, octets without leading zeros,
// "1," (the hardware type, Ethernet) before the address, the lease's end as hex seconds.
constexpr const char* kLeases = R"({
	name=debian
	ip_address=192.168.64.2
	hw_address=1,2:a:3:4:5:6
	identifier=1,2:a:3:4:5:6
	lease=0x66a0b1c2
}
{
	name=web
	ip_address=192.168.64.7
	hw_address=1,52:54:0:12:34:56
	identifier=1,52:54:0:12:34:56
	lease=0x66a0b000
}
{
	name=web
	ip_address=192.168.64.9
	hw_address=1,52:54:0:12:34:56
	identifier=1,52:54:0:12:34:56
	lease=0x66a0c000
}
)";

TEST(DhcpLeases, FindsTheNewestLeaseOfAMacWrittenWithoutLeadingZeros) {
  EXPECT_EQ(vzkit::host::lease_for_mac(kLeases, "52:54:00:12:34:56").value_or(""), "192.168.64.9");
  EXPECT_EQ(vzkit::host::lease_for_mac(kLeases, "02:0A:03:04:05:06").value_or(""), "192.168.64.2");
}

TEST(DhcpLeases, NoLeaseForAnotherMacOrBadInput) {
  EXPECT_FALSE(vzkit::host::lease_for_mac(kLeases, "52:54:00:12:34:57"));
  EXPECT_FALSE(vzkit::host::lease_for_mac(kLeases, "not a mac"));
  EXPECT_FALSE(vzkit::host::lease_for_mac("", "52:54:00:12:34:56"));
  EXPECT_FALSE(vzkit::host::lease_for_mac("{\n\tip_address=192.168.64.3\n", "52:54:00:12:34:56"));  // cut short
}

TEST(ConsoleHostKeys, TakesTheLastBlockCloudInitPrinted) {
  const std::string console =
      "[  OK  ] Started ssh.service\r\n"
      "<14>Dec  2 05:00:00 cloud-init: #############################################################\r\n"
      "-----BEGIN SSH HOST KEY KEYS-----\r\n"
      "ecdsa-sha2-nistp256 AAAAold root@web\r\n"
      "-----END SSH HOST KEY KEYS-----\r\n"
      "second boot\r\n"
      "-----BEGIN SSH HOST KEY KEYS-----\r\n"
      "ecdsa-sha2-nistp256 AAAAE2VjZHNh root@web\r\n"
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 root@web\r\n"
      "-----END SSH HOST KEY KEYS-----\r\n";
  const auto keys = vzkit::host::host_keys_in_console(console);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0], "ecdsa-sha2-nistp256 AAAAE2VjZHNh");
  EXPECT_EQ(keys[1], "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5");
  EXPECT_TRUE(vzkit::host::host_keys_in_console("-----BEGIN SSH HOST KEY KEYS-----\nssh-ed25519 AAAA\n").empty());
}

TEST(QemuForwards, ReadsTheHostPortsQemuBound) {
  const auto f = vzkit::bridge::qemu::parse_usernet(
      "Hub -1 (net3):\r\n  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n"
      "  TCP[HOST_FORWARD]   3       127.0.0.1 42793       10.0.2.15    22     0     0\r\n"
      "  UDP[HOST_FORWARD]   4         0.0.0.0  5353       10.0.2.15  5353     0     0\r\n"
      "  TCP[ESTABLISHED]   27       10.0.2.15 40000   151.101.2.132    80     0     0\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].protocol, "tcp");
  EXPECT_EQ(f[0].host_address, "127.0.0.1");
  EXPECT_EQ(f[0].host_port, 42793);
  EXPECT_EQ(f[0].guest_port, 22);
  EXPECT_EQ(f[1].protocol, "udp");
  EXPECT_EQ(f[1].host_port, 5353);
}

}  // namespace
