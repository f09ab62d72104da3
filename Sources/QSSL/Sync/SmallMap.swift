/// A map over an array of pairs, searched linearly: for the handful of entries the library keeps (handles,
/// contexts, ports). Unlike Dictionary it needs no hashing, so the shipped library carries no hash tables, no
/// random hash seed (glibc's arc4random_buf, glibc >= 2.36) and no libm (the tables' capacity rounding).
/// Not thread-safe: guard it with the owner's lock.
struct SmallMap<Key: Equatable, Value> {
    private(set) var entries: [(key: Key, value: Value)] = []

    private func index(of key: Key) -> Int? {
        var i = 0
        while i < entries.count {
            if entries[i].key == key { return i }
            i += 1
        }
        return nil
    }

    /// The value for `key`; assigning nil removes it.
    subscript(key: Key) -> Value? {
        get { index(of: key).map { entries[$0].value } }
        set {
            let i = index(of: key)
            switch (i, newValue) {
            case let (i?, v?): entries[i].value = v
            case let (nil, v?): entries.append((key, v))
            case let (i?, nil): entries.remove(at: i)
            case (nil, nil): break
            }
        }
    }

    /// Removes `key`; returns its value (nil: it was not there).
    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        guard let i = index(of: key) else { return nil }
        return entries.remove(at: i).value
    }
}

extension SmallMap where Key: Comparable {
    /// The entries in key order.
    var sortedEntries: [(key: Key, value: Value)] { entries.sorted { $0.key < $1.key } }
}
