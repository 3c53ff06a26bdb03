// Command seccomp writes the seccomp profile of user servers whose storage has a Btrfs quota
// (hub-config/gmap_hub/spawner/seccomp.json, written by `npm run seccomp`): Docker's default profile, as the
// Moby project publishes it (github.com/moby/profiles, the version go.mod pins), except that the
// ioctls that create a Btrfs subvolume or snapshot are refused with EPERM. A quota limits the
// subvolume of a home or a team folder; a subvolume a user made inside it would be outside that
// quota (docs/storage.md).
//
// Docker's profile allows ioctl for every request. libseccomp drops a conditional refusal of a
// system call that a rule allows unconditionally, and it keeps one comparison per argument in a
// rule, so the unconditional ioctl is replaced by rules that allow every request outside the four:
// one rule per block of the 32-bit request numbers (masked comparisons, a prefix each). The
// kernel reads the request as 32 bits, so the upper half of the register is masked out and a
// refused request with upper bits set is refused too.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// btrfsWrite is _IOW(BTRFS_IOCTL_MAGIC, nr, size) of linux/btrfs.h: write direction, the 4096-byte
// argument structs btrfs_ioctl_vol_args and btrfs_ioctl_vol_args_v2, magic 0x94.
func btrfsWrite(nr uint32) uint32 {
	const write, size, magic = 1, 4096, 0x94
	return write<<30 | size<<16 | magic<<8 | nr
}

// refused: BTRFS_IOC_SNAP_CREATE, BTRFS_IOC_SUBVOL_CREATE, BTRFS_IOC_SNAP_CREATE_V2,
// BTRFS_IOC_SUBVOL_CREATE_V2.
var refused = []uint32{btrfsWrite(1), btrfsWrite(14), btrfsWrite(23), btrfsWrite(24)}

// block is the set of 32-bit numbers that share their first bits with prefix.
type block struct {
	prefix uint32
	bits   uint
}

func (b block) mask() uint32 {
	if b.bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - b.bits)
}

func (b block) contains(n uint32) bool { return n&b.mask() == b.prefix }

// allowed covers every 32-bit number outside refused with the fewest prefix blocks.
func allowed(b block) []block {
	inside := slices.ContainsFunc(refused, b.contains)
	if !inside {
		return []block{b}
	}
	if b.bits == 32 {
		return nil
	}
	half := uint32(1) << (31 - b.bits)
	return append(allowed(block{b.prefix, b.bits + 1}), allowed(block{b.prefix | half, b.bits + 1})...)
}

func main() {
	profile := seccomp.DefaultProfile()
	found := 0
	for _, rule := range profile.Syscalls {
		if rule.Action != specs.ActAllow || len(rule.Args) > 0 || rule.Includes != nil || rule.Excludes != nil {
			continue
		}
		if i := slices.Index(rule.Names, "ioctl"); i >= 0 {
			rule.Names = slices.Delete(rule.Names, i, i+1)
			found++
		}
	}
	if found != 1 {
		fmt.Fprintf(os.Stderr, "seccomp: Docker's default profile allows ioctl in %d unconditional rules, expected 1\n", found)
		os.Exit(1)
	}
	for _, b := range allowed(block{0, 0}) {
		rule := &seccomp.Syscall{Comment: "ioctl, except Btrfs subvolume and snapshot creation"}
		rule.Names = []string{"ioctl"}
		rule.Action = specs.ActAllow
		rule.Args = []specs.LinuxSeccompArg{{Index: 1, Value: uint64(b.mask()), ValueTwo: uint64(b.prefix), Op: specs.OpMaskedEqual}}
		profile.Syscalls = append(profile.Syscalls, rule)
	}
	text, err := json.MarshalIndent(profile, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		os.Exit(1)
	}
	text = append(text, '\n')
	// with a path: the file (npm run seccomp); without: standard output (the test that the file is current)
	if len(os.Args) > 1 {
		err = os.WriteFile(os.Args[1], text, 0o644)
	} else {
		_, err = os.Stdout.Write(text)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		os.Exit(1)
	}
}
