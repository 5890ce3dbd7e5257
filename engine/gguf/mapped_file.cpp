#include "gguf/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "selfextend/error.h"

namespace selfextend {

namespace {
// Closes a descriptor on every path out of the constructor; the map outlives it.
struct FileDescriptor {
    int fd;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};
}  // namespace

MappedFile::MappedFile(const std::string& path) : path_(path) {
    const FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) throw Error("cannot open '" + path + "': " + std::strerror(errno));
    struct stat info {};
    if (::fstat(file.fd, &info) != 0)
        throw Error("cannot stat '" + path + "': " + std::strerror(errno));
    if (!S_ISREG(info.st_mode)) throw Error("'" + path + "' is not a regular file");
    size_ = size_t(info.st_size);
    if (size_ == 0) return;  // nothing to map; the parser reports the empty file
    void* mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (mapped == MAP_FAILED) throw Error("cannot map '" + path + "': " + std::strerror(errno));
    data_ = static_cast<const uint8_t*>(mapped);
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace selfextend
