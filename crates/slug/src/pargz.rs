//! Parallel gzip, pigz-style: the input is cut into blocks; each block is
//! raw-deflated on its own thread, primed with the previous 32 KiB as a
//! dictionary and ended with a sync flush (the last with a final block), so
//! the blocks concatenate into one valid deflate stream. A gzip header, and a
//! trailer with the CRC32 combined from per-block CRCs and the length, make
//! it one ordinary `.gz` any gunzip reads. Memory is bounded by the blocks in
//! flight, whatever the input size.

use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// Deflate's window: the dictionary each block is primed with.
const WINDOW: usize = 32 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct GzOptions {
    /// Default 5: zlib-rs at level 5 writes slugs no larger than GNU `gzip -6`
    /// (0.9998x on a real npm tree, measured by scripts/bench-slug) in three
    /// quarters of level 6's CPU time; `--level` chooses another.
    pub level: u32,
    pub threads: usize,
    pub block_size: usize,
}

impl Default for GzOptions {
    fn default() -> Self {
        Self {
            level: 5,
            threads: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            block_size: 1024 * 1024,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GzStats {
    pub uncompressed: u64,
    pub compressed: u64,
    /// Deflated size of each input block, in order (every block but the last is `block_size` long).
    pub(crate) block_deflated: Vec<u64>,
}

struct Job {
    index: usize,
    data: Vec<u8>,
    dictionary: Option<Vec<u8>>,
    last: bool,
}

struct Done {
    index: usize,
    deflated: Vec<u8>,
    crc: crc32fast::Hasher,
    len: usize,
}

fn deflate_block(job: &Job, level: u32) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if let Some(dict) = &job.dictionary {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.data.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(c.total_in()).expect("fits");
        let status = c
            .compress_vec(&job.data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(c.total_in()).expect("fits") == job.data.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if all_in && room_left && !job.last => return Ok(out),
            _ => out.reserve(out.capacity().max(4096)),
        }
    }
}

/// A writer that compresses what it is given; `finish` returns the sink.
pub(crate) struct ParGz<W: Write + Send + 'static> {
    opts: GzOptions,
    buffer: Vec<u8>,
    previous_tail: Option<Vec<u8>>,
    next_index: usize,
    jobs: Option<SyncSender<Job>>,
    writer: Option<std::thread::JoinHandle<io::Result<(W, GzStats)>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl<W: Write + Send + 'static> ParGz<W> {
    pub(crate) fn new(mut sink: W, opts: GzOptions) -> io::Result<Self> {
        // RFC 1952 header: magic, deflate, no flags, mtime 0, no extra flags, OS = Unix.
        sink.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])?;
        let threads = opts.threads.max(1);
        let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(threads * 2);
        let (done_tx, done_rx) = mpsc::sync_channel::<io::Result<Done>>(threads * 2);
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let workers = (0..threads)
            .map(|_| {
                let (jobs_rx, done_tx) = (Arc::clone(&jobs_rx), done_tx.clone());
                std::thread::spawn(move || loop {
                    let Ok(job) = jobs_rx.lock().expect("job queue").recv() else {
                        return;
                    };
                    let mut crc = crc32fast::Hasher::new();
                    crc.update(&job.data);
                    let result = deflate_block(&job, opts.level).map(|deflated| Done {
                        index: job.index,
                        deflated,
                        crc,
                        len: job.data.len(),
                    });
                    if done_tx.send(result).is_err() {
                        return;
                    }
                })
            })
            .collect();
        drop(done_tx);
        let writer = std::thread::spawn(move || collect(sink, &done_rx));
        Ok(Self {
            opts,
            buffer: Vec::with_capacity(opts.block_size),
            previous_tail: None,
            next_index: 0,
            jobs: Some(jobs_tx),
            writer: Some(writer),
            workers,
        })
    }

    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.opts.block_size));
        let tail = data[data.len().saturating_sub(WINDOW)..].to_vec();
        let job = Job {
            index: self.next_index,
            dictionary: self.previous_tail.replace(tail).filter(|t| !t.is_empty()),
            data,
            last,
        };
        self.next_index += 1;
        self.jobs
            .as_ref()
            .expect("not finished")
            .send(job)
            .map_err(|_| {
                io::Error::other("the compression writer stopped (see the error it returned)")
            })
    }

    /// Compress what is left, write the trailer, return the sink and the sizes.
    pub(crate) fn finish(mut self) -> io::Result<(W, GzStats)> {
        let sent = self.dispatch(true);
        self.jobs = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let written = self
            .writer
            .take()
            .expect("writer")
            .join()
            .map_err(|_| io::Error::other("compression thread panicked"))?;
        sent.and(written)
    }
}

fn collect<W: Write>(mut sink: W, done: &Receiver<io::Result<Done>>) -> io::Result<(W, GzStats)> {
    let mut pending = std::collections::BTreeMap::new();
    let mut next = 0;
    let mut crc = crc32fast::Hasher::new();
    let mut stats = GzStats {
        uncompressed: 0,
        compressed: 10,
        block_deflated: Vec::new(),
    };
    for result in done {
        let d = result?;
        pending.insert(d.index, d);
        while let Some(d) = pending.remove(&next) {
            sink.write_all(&d.deflated)?;
            crc.combine(&d.crc);
            stats.uncompressed += d.len as u64;
            stats.compressed += d.deflated.len() as u64;
            stats.block_deflated.push(d.deflated.len() as u64);
            next += 1;
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let isize = stats.uncompressed as u32;
    sink.write_all(&crc.finalize().to_le_bytes())?;
    sink.write_all(&isize.to_le_bytes())?;
    sink.flush()?;
    stats.compressed += 8;
    Ok((sink, stats))
}

impl<W: Write + Send + 'static> Write for ParGz<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = self.opts.block_size - self.buffer.len();
            let take = room.min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == self.opts.block_size {
                self.dispatch(false)?;
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that only counts (for measuring without writing anything).
#[derive(Debug, Default)]
pub(crate) struct Counter;

impl Write for Counter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::noise;
    use std::io::Read;

    fn roundtrip(data: &[u8], opts: GzOptions) -> (Vec<u8>, GzStats) {
        let mut gz = ParGz::new(Vec::new(), opts).unwrap();
        for chunk in data.chunks(7919) {
            gz.write_all(chunk).unwrap();
        }
        let (out, stats) = gz.finish().unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data, "gunzip gives back the input");
        assert_eq!(stats.compressed, out.len() as u64);
        (out, stats)
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| {
                b"the quick brown fox jumps over the lazy dog 0123456789\n"[i % 55]
                    ^ u8::from(i % 1013 == 0)
            })
            .collect()
    }

    #[test]
    fn output_is_one_valid_gzip_stream_for_any_block_boundary() {
        for n in [0, 1, 1000, 4096, 4097, 3 * 4096, 100_000] {
            roundtrip(
                &sample(n),
                GzOptions {
                    level: 6,
                    threads: 3,
                    block_size: 4096,
                },
            );
        }
    }

    #[test]
    fn dictionaries_keep_the_ratio_close_to_single_stream_gzip() {
        let data = sample(2_000_000);
        let (_, par) = roundtrip(&data, GzOptions::default());
        let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        single.write_all(&data).unwrap();
        let single = single.finish().unwrap().len() as u64;
        assert!(
            par.compressed * 100 <= single * 102,
            "parallel {} vs single {single}",
            par.compressed
        );
    }

    /// Each block is primed with the previous block's last 32 KiB (deflate's
    /// whole window; blocks are 1 MiB, 64 KiB here): a 20 KiB run of noise
    /// repeated across blocks costs about what one gzip stream pays for it,
    /// once. Without the dictionary, or with a smaller one, every block pays
    /// for it again.
    #[test]
    fn each_block_is_primed_with_the_previous_32_kib() {
        let data = noise(20 * 1024, 7).repeat(40);
        let (_, par) = roundtrip(
            &data,
            GzOptions {
                level: 5,
                threads: 2,
                block_size: 64 * 1024,
            },
        );
        let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(5));
        single.write_all(&data).unwrap();
        let single = single.finish().unwrap().len() as u64;
        assert!(
            par.compressed * 100 <= single * 110,
            "parallel {} vs single {single} (a run of noise is {} bytes)",
            par.compressed,
            20 * 1024
        );
    }

    /// Noise does not compress: deflate's output outgrows the buffer guessed
    /// for it, block after block, and none of it may be left behind.
    #[test]
    fn incompressible_input_comes_back_whole_whatever_the_block_size() {
        for (n, block_size) in [
            (3 * 1024 * 1024 + 17, 1024 * 1024),
            (300_001, 4096),
            (65_536, 65_536),
        ] {
            let data = noise(n, n as u64);
            let (_, stats) = roundtrip(
                &data,
                GzOptions {
                    level: 5,
                    threads: 2,
                    block_size,
                },
            );
            assert!(stats.compressed > n as u64, "noise does not shrink");
        }
    }

    #[test]
    fn crc_is_checked_by_decoders() {
        let (mut out, _) = roundtrip(b"hello world", GzOptions::default());
        let n = out.len();
        out[n - 8] ^= 1;
        let mut back = Vec::new();
        assert!(flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .is_err());
    }
}
