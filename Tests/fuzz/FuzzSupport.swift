// Shared by every fuzz target (scripts/fuzz.sh compiles it with each harness).

/// splitmix64: tiny, deterministic, good enough to derive chunkings and choices from the input.
struct FuzzRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// 0..<n (0 when n <= 1).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}
