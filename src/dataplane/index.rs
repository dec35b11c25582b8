//! Typed indices into the compiled tables, and the vector they index.
//!
//! Every table entry refers to others by index; a newtype per table keeps
//! a NIC index from reaching into the subnets, and [`IdxVec`] is indexed
//! only by its own kind. Indices are `u32` (a lab has far fewer than 2³²
//! of anything), which keeps `Verdict` and `Step` small and `Copy`.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// An index type of one table.
pub trait Idx: Copy + Eq {
    fn from_usize(i: usize) -> Self;
    fn index(self) -> usize;
}

macro_rules! indices {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl Idx for $name {
            #[inline]
            fn from_usize(i: usize) -> Self {
                // Tables are built from a model that is far smaller than
                // 2³² entries of any kind.
                Self(i as u32)
            }

            #[inline]
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        /// The bare number, as the `u32` it replaces printed, so that
        /// verdicts and drop reasons read as before.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}

indices! {
    /// `Delays::regions`: the regions a lab's resources are in.
    RegionIdx;
    /// `Tables::nics`.
    NicIdx;
    /// `Tables::subnets`.
    SubnetIdx;
    /// `Tables::vnets`.
    VnetIdx;
    /// `VnetEntry::links`: a VNet's peering links.
    LinkIdx;
    /// `Tables::connections`: gateway connections (IPsec, VNet-to-VNet).
    ConnIdx;
    /// `Tables::lbs`.
    LbIdx;
    /// `LbEntry::frontends`.
    FrontendIdx;
    /// `LbEntry::pools`.
    PoolIdx;
    /// `LbEntry::probes`.
    ProbeIdx;
    /// `LbEntry::rules`.
    LbRuleIdx;
    /// `Tables::endpoints`: private endpoints.
    EndpointIdx;
    /// `Tables::services`: service instances outside the VNets.
    ServiceIdx;
    /// `Tables::nsgs`: an NSG compiled in one subnet's context.
    NsgIdx;
    /// A rule of a compiled NSG, in one direction (`CompiledNsg::rules`).
    NsgRuleIdx;
    /// A row of a subnet's effective routes, or of a gateway's context.
    RouteIdx;
    /// `Overlay::clusters`: an AKS cluster's pod routing domain.
    ClusterIdx;
}

/// A vector indexed by `I` only.
pub struct IdxVec<I, T> {
    raw: Vec<T>,
    _index: PhantomData<fn(I) -> I>,
}

impl<I: Idx, T> IdxVec<I, T> {
    pub fn new() -> Self {
        Self::from(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        Self::from(Vec::with_capacity(n))
    }

    /// Appends `t` and returns its index.
    pub fn push(&mut self, t: T) -> I {
        self.raw.push(t);
        I::from_usize(self.raw.len() - 1)
    }

    /// The index the next `push` returns.
    pub fn next_idx(&self) -> I {
        I::from_usize(self.raw.len())
    }

    #[inline]
    pub fn get(&self, i: I) -> Option<&T> {
        self.raw.get(i.index())
    }

    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether `i` indexes an entry.
    pub fn contains(&self, i: I) -> bool {
        i.index() < self.raw.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.raw.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.raw.iter_mut()
    }

    /// Every entry with its index.
    pub fn iter_enumerated(&self) -> impl DoubleEndedIterator<Item = (I, &T)> + ExactSizeIterator + '_ {
        self.raw.iter().enumerate().map(|(i, t)| (I::from_usize(i), t))
    }

    /// Every index.
    pub fn indices(&self) -> impl DoubleEndedIterator<Item = I> + ExactSizeIterator + use<I, T> {
        (0..self.raw.len()).map(I::from_usize)
    }

    /// The index of the first entry for which `f` holds.
    pub fn position(&self, f: impl FnMut(&T) -> bool) -> Option<I> {
        self.raw.iter().position(f).map(I::from_usize)
    }

    pub fn as_slice(&self) -> &[T] {
        &self.raw
    }
}

impl<I: Idx, T> Default for IdxVec<I, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<I, T> From<Vec<T>> for IdxVec<I, T> {
    fn from(raw: Vec<T>) -> Self {
        Self {
            raw,
            _index: PhantomData,
        }
    }
}

impl<I, T> FromIterator<T> for IdxVec<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(iter: It) -> Self {
        Self::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<'a, I, T> IntoIterator for &'a IdxVec<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.raw.iter()
    }
}

impl<I: Idx, T> Index<I> for IdxVec<I, T> {
    type Output = T;

    #[inline]
    fn index(&self, i: I) -> &T {
        &self.raw[i.index()]
    }
}

impl<I: Idx, T> IndexMut<I> for IdxVec<I, T> {
    #[inline]
    fn index_mut(&mut self, i: I) -> &mut T {
        &mut self.raw[i.index()]
    }
}

impl<I, T: Clone> Clone for IdxVec<I, T> {
    fn clone(&self) -> Self {
        Self::from(self.raw.clone())
    }
}

impl<I, T: fmt::Debug> fmt::Debug for IdxVec<I, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

impl<I, T: PartialEq> PartialEq for IdxVec<I, T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<I, T: Eq> Eq for IdxVec<I, T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_returns_the_index_that_finds_the_entry() {
        let mut v: IdxVec<NicIdx, &str> = IdxVec::new();
        let a = v.push("a");
        let b = v.push("b");
        assert_eq!((a, b), (NicIdx(0), NicIdx(1)));
        assert_eq!((v[a], v[b]), ("a", "b"));
        assert_eq!(v.get(NicIdx(2)), None);
        assert_eq!(v.position(|s| *s == "b"), Some(b));
        assert_eq!(v.iter_enumerated().last(), Some((b, &"b")));
        assert_eq!(format!("{a:?} {b}"), "0 1");
    }
}
