//! The writer's list of retained levels: levels that emptied and left the ladder but stay in
//! the price index (their statistics stay readable, and a level that refills soon needs no
//! new node). Intrusive and doubly linked through the two pointer slots an unlinked node
//! lends ([`Node::spare_links`]: its back pointers, unused while it is unlinked), so
//! retaining a level, relinking it before it is evicted, and evicting the oldest are all
//! O(1), with no stale entries to skip or sweep.

use std::ptr;

use crate::skiplist::{Node, BACK_HEIGHTS};

/// The older neighbour's slot among a retained node's spare links.
const OLDER: usize = 0;
/// The newer neighbour's slot.
const NEWER: usize = 1;
const _: () = assert!(BACK_HEIGHTS >= 2, "the list needs two spare links a node");

/// Oldest-to-newest list of retained levels. Writer only.
pub(crate) struct RetainedLevels {
    oldest: *const Node,
    newest: *const Node,
    len: usize,
}

impl Default for RetainedLevels {
    fn default() -> Self {
        RetainedLevels { oldest: ptr::null(), newest: ptr::null(), len: 0 }
    }
}

impl RetainedLevels {
    /// Levels retained now.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Append `node` as the newest.
    ///
    /// # Safety
    /// The caller is the book's writer, `node` is alive, not linked and not in the list, and
    /// stays alive and unlinked while it is in the list (the list's links live in the node's
    /// spare slots, which linking rewrites).
    pub(crate) unsafe fn push_newest(&mut self, node: *const Node) {
        // SAFETY: per the contract (alive, not linked); the reference ends with this block.
        let links = unsafe { (*node).spare_links() };
        links[OLDER] = self.newest;
        links[NEWER] = ptr::null();
        match self.newest.is_null() {
            true => self.oldest = node,
            // SAFETY: list members are alive and not linked (contract of `push_newest`).
            false => unsafe { (*self.newest).spare_links()[NEWER] = node },
        }
        self.newest = node;
        self.len += 1;
    }

    /// Take `node` out of the list (it is being relinked or evicted).
    ///
    /// # Safety
    /// The caller is the book's writer and `node` is in this list.
    pub(crate) unsafe fn remove(&mut self, node: *const Node) {
        // SAFETY: per the contract (list members are alive and not linked).
        let links = unsafe { (*node).spare_links() };
        let (prev, next) = (links[OLDER], links[NEWER]);
        *links = [ptr::null(); BACK_HEIGHTS];
        match prev.is_null() {
            true => self.oldest = next,
            // SAFETY: list members are alive and not linked.
            false => unsafe { (*prev).spare_links()[NEWER] = next },
        }
        match next.is_null() {
            true => self.newest = prev,
            // SAFETY: list members are alive and not linked.
            false => unsafe { (*next).spare_links()[OLDER] = prev },
        }
        self.len -= 1;
    }

    /// Take the oldest level out of the list.
    ///
    /// # Safety
    /// The caller is the book's writer.
    pub(crate) unsafe fn pop_oldest(&mut self) -> Option<*const Node> {
        let oldest = self.oldest;
        if oldest.is_null() {
            return None;
        }
        // SAFETY: `oldest` is in the list.
        unsafe { self.remove(oldest) };
        Some(oldest)
    }

    /// Call `f` on each level, oldest first.
    ///
    /// # Safety
    /// The caller is the book's writer, and `f` does not change the list.
    pub(crate) unsafe fn for_each(&self, mut f: impl FnMut(&Node)) {
        let mut at = self.oldest;
        while !at.is_null() {
            // SAFETY: list members are alive.
            let n = unsafe { &*at };
            f(n);
            // SAFETY: as above; the reference ends with this read.
            at = unsafe { n.spare_links() }[NEWER];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Side;

    fn prices(list: &RetainedLevels) -> Vec<i64> {
        let mut out = Vec::new();
        // SAFETY: single-threaded test owning every node.
        unsafe { list.for_each(|n| out.push(n.level.price)) };
        out
    }

    #[test]
    fn retain_relink_and_evict_keep_oldest_first_order_in_constant_time() {
        let nodes: Vec<Box<Node>> = (1..=5).map(|p| Box::new(Node::new(Side::Buy, p, 1))).collect();
        let ptr = |i: usize| &*nodes[i] as *const Node;
        let mut list = RetainedLevels::default();
        // SAFETY: the nodes outlive the list; this test is their only user.
        unsafe {
            for i in 0..5 {
                list.push_newest(ptr(i));
            }
            assert_eq!(prices(&list), [1, 2, 3, 4, 5]);
            // The middle one; a node taken out leaves its spare links clear for the skiplist.
            list.remove(ptr(2));
            assert_eq!(*nodes[2].spare_links(), [ptr::null(); BACK_HEIGHTS]);
            list.remove(ptr(4)); // newest
            assert_eq!(prices(&list), [1, 2, 4]);
            assert_eq!(list.pop_oldest(), Some(ptr(0)));
            list.push_newest(ptr(2)); // retained again after a relink
            assert_eq!(prices(&list), [2, 4, 3]);
            assert_eq!(list.len(), 3);
            while list.pop_oldest().is_some() {}
            assert_eq!((list.len(), prices(&list)), (0, vec![]));
            assert!(list.oldest.is_null() && list.newest.is_null());
        }
    }
}
