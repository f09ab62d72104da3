/// A first-in first-out queue over an array with a moving head: O(1) append and removal at the front, storage
/// compacted once the consumed prefix dominates. Not thread-safe: guard it with the owner's lock.
struct FIFO<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    mutating func append(_ e: Element) { storage.append(e) }

    mutating func popFirst() -> Element? {
        if head == storage.count { return nil }
        let e = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.count <= 64)
            head = 0
        } else if head >= 32 && head * 2 >= storage.count {
            storage.removeSubrange(0..<head)
            head = 0
        }
        return e
    }

    /// The oldest element, if any.
    var first: Element? { head < storage.count ? storage[head] : nil }

    /// Removes and returns every element for which `predicate` holds, keeping the order of the rest.
    mutating func remove(where predicate: (Element) -> Bool) -> [Element] {
        var removed: [Element] = []
        var kept: [Element] = []
        var i = head
        while i < storage.count {
            if predicate(storage[i]) { removed.append(storage[i]) } else { kept.append(storage[i]) }
            i += 1
        }
        if !removed.isEmpty {
            storage = kept
            head = 0
        }
        return removed
    }

    /// Removes and returns everything, oldest first.
    mutating func removeAll() -> [Element] {
        let all = Array(storage[head...])
        storage.removeAll()
        head = 0
        return all
    }

    /// Calls `body` for each element, oldest first.
    func forEach(_ body: (Element) -> Void) {
        var i = head
        while i < storage.count {
            body(storage[i])
            i += 1
        }
    }
}
